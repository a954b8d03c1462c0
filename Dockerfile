# syntax=docker/dockerfile:1
# The ChatOps bot's image: one image, three roles (`web`, `worker`, `all`), chosen by the command:
#   docker run IMAGE web | worker | all        (default: all, for small installs)
# Build: docker build -t chatops-bot:$(node -p "require('./package.json').version") .
# Checked without a Docker engine by test/deploy/dockerfile.test.ts (stages, user, healthcheck, pins, COPY
# sources); see deploy/README.md for pushing it and running it next to Kargo.
#
# Base image: Debian 12 "slim" (glibc: the prebuilt native addon msgpackr-extract that BullMQ's msgpackr loads
# is published for glibc linux-x64/arm64; no compiler is needed anywhere in this build).
# Node 24 LTS, pinned to the exact release the project is developed and tested on (tools/versions.env
# NODE_VERSION; test/deploy/dockerfile.test.ts keeps the two equal).
# Digest: no container registry can be reached from the machines this project is built and tested on, so no
# digest could be read and verified here, and an unverified digest would be worse than none. Release builds
# pass the verified digest of their own registry mirror:
#   docker build --build-arg NODE_IMAGE=node:24.22.3-bookworm-slim@sha256:<digest> .
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- deps: every dependency, dev included (tsc), exactly as locked ----------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the compiler needs none of the install scripts (esbuild, @parcel/watcher, classic-level
# are dev tools for tests), and no third-party code runs at build time.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund

# ---- build: TypeScript → dist/ (npm run build = tsc -p tsconfig.build.json) ---------------------------------
# tsconfig.build.json leaves out src/sandbox (the local stand-ins and console) and src/cli (developer and
# workflow commands): the image carries only what `web`, `worker` and `all` run.
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- prod-deps: runtime dependencies only -----------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# The only runtime package with an install script is msgpackr-extract (optional); its script merely looks for
# the prebuilt binary that npm already installed as @msgpackr-extract/msgpackr-extract-linux-<arch>.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# HOST: the bot listens on 127.0.0.1 unless told otherwise, which inside a container nothing could reach; the
# image says 0.0.0.0 explicitly. The ports are the settings' defaults, written out so `docker inspect` shows them:
# PORT public (Slack, GitHub, /healthz, /readyz), METRICS_PORT private (the web's /metrics), WORKER_PORT private
# (the worker's /healthz, /readyz, /metrics). No NODE_OPTIONS here: the heap ceiling depends on the memory limit,
# which the image cannot know (deploy/ and docker-compose.yml set both).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=3002 \
    WORKER_PORT=3001
WORKDIR /app
# A fixed, unprivileged uid/gid (10001) that matches runAsUser in deploy/*.yaml. Files stay owned by root, so
# the process cannot modify its own code; it writes nothing to disk (logs go to stdout).
RUN groupadd --system --gid 10001 chatops \
 && useradd --system --uid 10001 --gid chatops --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin chatops
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json carries "type": "module": without it Node would load dist/*.js as CommonJS.
COPY package.json ./
# JSON Schemas of the workflow's artifacts, read at run time by dist/artifacts/validate.js (../../schemas).
COPY schemas ./schemas
USER 10001:10001
# Only the public port: web's Slack, GitHub webhook, /healthz and /readyz on PORT. METRICS_PORT and WORKER_PORT
# are private and stay unexposed, so `docker run -P` (which publishes every EXPOSEd port on all host interfaces)
# never publishes /metrics; scrape them over a private network (docker-compose.yml, deploy/).
EXPOSE 3000
# Liveness for plain Docker (Kubernetes uses the probes in deploy/ instead). Node, not curl: the slim image has
# no curl. It probes /healthz on PORT (the public listener of `web` and `all`); a `worker`-only container, which
# has no PORT listener, sets HEALTHCHECK_PORT to its WORKER_PORT (docker-compose.yml does).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["node", "-e", "const port = process.env.HEALTHCHECK_PORT || process.env.PORT || 3000; const req = require('node:http').get({ host: '127.0.0.1', port, path: '/healthz', timeout: 4000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)); req.on('timeout', () => req.destroy(new Error('timeout'))); req.on('error', () => process.exit(1));"]
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
