import { Connection, type ConnectionOptions } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_KEYS } from './search-attributes';

/**
 * Adds PingBack's search attributes to a namespace; attributes already there are
 * left alone, so it is safe to run on every deploy.
 */
export async function registerSearchAttributes(to: string | ConnectionOptions, namespace: string): Promise<string[]> {
  const connection = await Connection.connect(typeof to === 'string' ? { address: to } : to);
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const have = new Set(Object.keys(existing.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTE_KEYS.filter((k) => !have.has(k.name));
    if (missing.length > 0) {
      await connection.operatorService.addSearchAttributes({
        namespace,
        // 2 = INDEXED_VALUE_TYPE_KEYWORD
        searchAttributes: Object.fromEntries(missing.map((k) => [k.name, 2])),
      });
    }
    return missing.map((k) => k.name);
  } finally {
    await connection.close();
  }
}
