import { z } from 'zod';

/**
 * `<bot id>:<secret>` as BotFather issues it. The docs' own example has 34 chars
 * after the colon, real tokens 35; accept a little either side, reject obvious junk.
 * core.telegram.org/bots/api#authorizing-your-bot
 */
export const BOT_TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{30,64}$/;

export const telegramConfigSchema = z
  .object({
    bot_token: z.string().regex(BOT_TOKEN_PATTERN, 'must look like 123456789:AA… as BotFather gives it'),
  })
  .strict();
export type TelegramConfig = z.infer<typeof telegramConfigSchema>;
