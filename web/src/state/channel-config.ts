import { useEffect, useState } from 'preact/hooks';
import { ApiError, type FieldError, patch } from '../api/client';
import type { Channel } from '../api/types';
import { compact } from '../components/SchemaForm';
import { loadChannels } from './channels';

/**
 * A channel's settings being edited (the channel page, the widget page): the stored config as
 * the starting point, saved as a merge (an emptied field as null), the 422's field errors kept
 * for the form.
 */
export function useChannelConfig(channel: Channel | undefined, savedMessage: string) {
  const [config, setConfig] = useState<Record<string, unknown> | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => setConfig(channel?.config ?? null), [channel?.id, channel?.config !== undefined]);
  const save = async (e: Event) => {
    e.preventDefault();
    if (!channel || !config) return;
    setErrors([]);
    setMessage(null);
    try {
      await patch(`/api/channels/${channel.id}`, { config: compact(config, channel.config) });
      await loadChannels();
      setMessage(savedMessage);
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
      setMessage((err as Error).message);
    }
  };
  return { config, setConfig, errors, message, save };
}
