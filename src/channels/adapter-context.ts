import fs from 'node:fs';
import type { Config } from '../config';
import { mailAuthResolver } from './email/authenticate';
import type { AdapterContext } from './types';

/** The deployment's platform API locations, as adapters take them (worker and API alike). */
export function adapterContextFrom(config: Pick<Config, 'TELEGRAM_API_BASE_URL' | 'META_GRAPH_BASE_URL' | 'META_GRAPH_VERSION' | 'X_API_BASE_URL' | 'EMAIL_TLS_CA_FILE' | 'EMAIL_ALLOWED_HOSTS' | 'MAIL_AUTH_DNS_SERVERS'>): AdapterContext {
  return {
    telegramApiBaseUrl: config.TELEGRAM_API_BASE_URL,
    metaGraphBaseUrl: config.META_GRAPH_BASE_URL,
    metaGraphVersion: config.META_GRAPH_VERSION,
    xApiBaseUrl: config.X_API_BASE_URL,
    emailAllowedHosts: config.EMAIL_ALLOWED_HOSTS,
    mailAuthResolver: mailAuthResolver(config.MAIL_AUTH_DNS_SERVERS),
    ...(config.EMAIL_TLS_CA_FILE ? { emailTlsCa: fs.readFileSync(config.EMAIL_TLS_CA_FILE, 'utf8') } : {}),
  };
}
