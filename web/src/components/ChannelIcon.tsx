import { CHANNEL_DISPLAY_NAMES, type ChannelType } from '../api/types';
import email from '../icons/email.svg';
import instagram from '../icons/instagram.svg';
import telegram from '../icons/telegram.svg';
import webchat from '../icons/webchat.svg';
import whatsapp from '../icons/whatsapp.svg';
import x from '../icons/x.svg';

const ICONS: Record<ChannelType, string> = { webchat, email, whatsapp, telegram, instagram, x };

/** A channel type's icon; its accessible name is the type's display name ("Telegram", "Web chat"). */
export function ChannelIcon({ type, size = 18 }: { type: ChannelType; size?: number }) {
  return <img class="channel-icon" src={ICONS[type]} alt={CHANNEL_DISPLAY_NAMES[type]} title={CHANNEL_DISPLAY_NAMES[type]} width={size} height={size} />;
}
