# syntax=docker/dockerfile:1
# The Bindery controller image. Node.js 24 runs the TypeScript sources as they are (type
# stripping), so there is no compile step: the build stage only installs production dependencies.
#   docker build -t bindery:0.1.0 .
# Entrypoint: the `bindery` CLI; the install bundle passes `manager` and its flags (docs/install.md).

# Pinned by tag; pin by digest too (node:24.21.0-bookworm-slim@sha256:…) in a release pipeline.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change. Every workspace's
# package.json is needed for `npm ci` to accept the lock file, even one whose sources are not shipped.
COPY package.json package-lock.json ./
COPY packages/kube/package.json packages/kube/
COPY packages/controlplane/package.json packages/controlplane/
COPY packages/runtime/package.json packages/runtime/
COPY packages/bindings/package.json packages/bindings/
COPY packages/servicebinding/package.json packages/servicebinding/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The layers the controller is made of; controlplane (tests and dev mode) is left out. Tests are
# kept out by .dockerignore.
COPY packages/kube/src packages/kube/src
COPY packages/runtime/src packages/runtime/src
COPY packages/bindings/src packages/bindings/src
COPY packages/servicebinding/src packages/servicebinding/src

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the process; the pod also mounts the root filesystem read-only.
COPY --from=build /app /app
# The base image's unprivileged `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9443 8080 8081
ENTRYPOINT ["node", "packages/servicebinding/src/cli.ts"]
CMD ["manager"]
