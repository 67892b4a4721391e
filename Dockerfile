# syntax=docker/dockerfile:1
# The Bindery controller image: the production packages compiled to JavaScript and installed from
# their npm tarballs, as a user would install them. Running built JavaScript rather than the
# TypeScript sources saves the type stripper (about 18 MiB of RSS) and start-up time
# (docs/benchmarks.md, "Where the manager's memory goes").
#   docker build -t bindery:0.1.0 .
# Entrypoint: the `bindery` CLI; the install bundle passes `manager` and its flags (docs/install.md).

# Pinned by tag; pin by digest too (node:24.21.0-bookworm-slim@sha256:…) in a release pipeline.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# 1. Compile and pack: `npm run pack:production` type-checks the packages with tsc and packs each
# production package (kube, osb-broker, runtime, osb, bindings, servicebinding) with its
# package.json pointing at dist/.
FROM ${NODE_IMAGE} AS pack
WORKDIR /src
# Manifests first, so the dependency layer is rebuilt only when they change. Every workspace's
# package.json is needed for `npm ci` to accept the lock file.
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY packages/kube/package.json packages/kube/
COPY packages/controlplane/package.json packages/controlplane/
COPY packages/runtime/package.json packages/runtime/
COPY packages/bindings/package.json packages/bindings/
COPY packages/servicebinding/package.json packages/servicebinding/
COPY packages/osb-broker/package.json packages/osb-broker/
COPY packages/osb/package.json packages/osb/
RUN npm ci --ignore-scripts --no-audit --no-fund
# Sources and READMEs (tests are kept out by .dockerignore). controlplane's sources are compiled
# against (`bindery dev` imports it) but not packed.
COPY packages packages
RUN node packages/servicebinding/src/cli/pack.ts /tarballs

# 2. Install the tarballs with their production dependencies only, as `npm install` would for a user.
FROM ${NODE_IMAGE} AS install
WORKDIR /app
COPY --from=pack /tarballs /tarballs
RUN echo '{ "name": "bindery-image", "private": true }' > package.json \
  && npm install --omit=dev --no-audit --no-fund /tarballs/*.tgz \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# Two malloc arenas instead of one per thread, and freed memory returned to the system rather than
# kept (docs/benchmarks.md, "Where the manager's memory goes"). The install bundle sets them too.
ENV MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 MALLOC_MMAP_THRESHOLD_=131072
WORKDIR /app
# Owned by root and not writable by the process; the pod also mounts the root filesystem read-only.
COPY --from=install /app /app
# The base image's unprivileged `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 9443 8080 8081
# --optimize-for-size: V8 grows the heap less eagerly and gives pages back sooner; an idle manager
# over 5,000 bindings holds about 65 MiB less for about 2 ms more CPU per binding reconciled
# (docs/benchmarks.md). A V8 flag NODE_OPTIONS may not carry, so it is given here.
ENTRYPOINT ["node", "--optimize-for-size", "/app/node_modules/@bindery/servicebinding/dist/cli.js"]
CMD ["manager"]
