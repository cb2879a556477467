# pgbaton in a container (docs/deploy.md):
#   docker build -t pgbaton .
#   docker run --rm -e DATABASE_URL=postgres://... pgbaton migrate
#   docker run -d -e DATABASE_URL=postgres://... pgbaton scheduler      # or worker, serve, start
#   docker run -d -e DATABASE_URL=... -v ./jobs:/jobs:ro pgbaton apply --watch --prune --source jobs /jobs

# Build: the TypeScript sources compiled to dist/.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY dashboard ./dashboard
RUN npm run build

# Run: the compiled package and its runtime dependencies only, as the unprivileged `node` user.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY sql ./sql
COPY migrations ./migrations
USER node
EXPOSE 8080
# Every process handles SIGTERM: the leader hands the baton over, workers finish or stop
# their runs (docker stop's default 10 s is short for a worker; give it --time 30).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/baton.js"]
CMD ["start"]
