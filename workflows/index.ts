export * from './conversation';
export * from './channel-setup';
export * from './x-poller';
export * from './email-poller';
