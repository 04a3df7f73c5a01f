# One image for every service; docker-compose.yml picks the entry point with `command:`.
#   docker build -t cpg .
#   docker run --env-file .env cpg                                                   # the gateway (default CMD)
#   docker run --env-file .env -e PORT=4001 cpg node --import tsx subgraphs/merchant/src/index.ts
#
# Services run TypeScript through tsx, which is a devDependency, so this installs the full lockfile
# (`npm ci`, not `--omit=dev`). Install scripts are skipped: nothing here needs them (see STACK.md).

# Stage 1: only the manifests (root and every workspace package.json + the lockfile), so the
# dependency layer below is rebuilt only when they change, and new workspaces are picked up without
# editing this file.
FROM node:20-bookworm-slim AS manifests
WORKDIR /app
COPY . .
RUN find . -type f ! -name package.json ! -name package-lock.json -delete \
 && find . -depth -type d -empty -delete

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=manifests /app/ ./
# NODE_ENV is set only after this: npm ci would skip devDependencies (tsx) under NODE_ENV=production.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY . .

# Code and dependencies stay root-owned and read-only to the service user; tsx caches under /tmp.
# /nats-config belongs to the service user: docker-compose.yml mounts a named volume there for the
# one-shot nats-config service, and a new volume takes over this directory's owner and mode.
RUN mkdir /nats-config && chown node:node /nats-config
ENV NODE_ENV=production \
    HOST=0.0.0.0
USER node
EXPOSE 4000 4001 4002 4003 4004 4005
CMD ["node", "--import", "tsx", "gateway/src/index.ts"]
