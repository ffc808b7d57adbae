export * from './conversation';
export * from './channel-setup';
