/// <reference types="vite/client" />
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />

interface ImportMetaEnv {
  readonly VITE_GRAPHQL_URL?: string;
}
