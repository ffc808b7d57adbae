/** hoodiecrow-imap ships no types; this is the part of its server the test mail provider uses. */
declare module 'hoodiecrow-imap' {
  import type { EventEmitter } from 'node:events';

  interface HoodiecrowMessage {
    uid: number;
    raw: string;
    flags: string[];
    internaldate: string;
  }
  interface HoodiecrowMailbox {
    uidvalidity: number;
    uidnext: number;
    messages: HoodiecrowMessage[];
  }
  interface HoodiecrowConnection {
    send(response: object, description: string, parsed: object, data: unknown): void;
    state: string;
    /** The connection's socket: the TLS one once STARTTLS has upgraded it; null once closed. */
    socket: import('node:net').Socket | null;
  }
  interface HoodiecrowServer extends EventEmitter {
    listen(port: number, host: string, callback: () => void): void;
    close(callback?: () => void): void;
    server: import('node:net').Server;
    users: Record<string, { password: string }>;
    /** Called with every new connection. */
    connectionHandlers: Array<(connection: HoodiecrowConnection) => void>;
    getMailbox(path: string): HoodiecrowMailbox;
    appendMessage(mailbox: string, flags: string[], internaldate: Date, raw: string): { message: HoodiecrowMessage };
    getCommandHandler(command: string): (connection: HoodiecrowConnection, parsed: any, data: unknown, callback: () => void) => void;
    setCommandHandler(command: string, handler: (connection: HoodiecrowConnection, parsed: any, data: unknown, callback: () => void) => void): void;
  }
  function hoodiecrow(options: {
    plugins?: string[];
    secureConnection?: boolean;
    credentials?: { key: Buffer | string; cert: Buffer | string };
    storage?: Record<string, unknown>;
    users?: Record<string, { password: string }>;
    debug?: boolean;
  }): HoodiecrowServer;
  export = hoodiecrow;
}
