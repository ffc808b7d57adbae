# PingBack's api, worker and migrate commands: `docker run pingback api|worker|migrate`.
# Node 22, a current LTS line (maintained into 2027); PingBack runs on Node 20 and later.
FROM node:22-slim AS build
WORKDIR /app
# The lockfile is npm 11's, and the dashboard's build tools (Vite 8) install with it; node:22 ships npm 10.
RUN npm install -g npm@11
COPY package.json package-lock.json ./
# The Temporal SDK patch (src/temporal/workflow-sandbox.ts), applied by npm ci's postinstall.
COPY patches ./patches
COPY tsconfig.json tsconfig.build.json knexfile.ts ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
# The dashboard, built by Vite into dist/web and served by the api.
COPY web ./web
# `npm ci` runs `prepare` (npm run build), which compiles to dist/ and builds the dashboard.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:22-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["api"]
