export * from './conversation';
export * from './channel-setup';
export * from './channel-poller';
