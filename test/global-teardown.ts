export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as any).__TEMPORAL_DEV_SERVER__;
  if (server) await server.stop();
}
