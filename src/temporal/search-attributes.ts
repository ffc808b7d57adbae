import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes on every conversation workflow, so operators can
 * filter in the Temporal UI or with
 * `temporal workflow list --query "ChannelType='whatsapp' AND ConversationStatus='open'"`.
 * They must exist on the namespace before a workflow uses them: the dev server
 * gets them at start (`pingback start`, the test set-up), real clusters through
 * `pingback search-attributes`.
 */
export const ChannelTypeKey = defineSearchAttributeKey('ChannelType', SearchAttributeType.KEYWORD);
export const ChannelIdKey = defineSearchAttributeKey('ChannelId', SearchAttributeType.KEYWORD);
export const AccountIdKey = defineSearchAttributeKey('AccountId', SearchAttributeType.KEYWORD);
export const ConversationStatusKey = defineSearchAttributeKey('ConversationStatus', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [ChannelTypeKey, ChannelIdKey, AccountIdKey, ConversationStatusKey];

/** `Name=Keyword` flags for `temporal server start-dev --search-attribute`. */
export const devServerSearchAttributeFlags = (): string[] =>
  SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]);
