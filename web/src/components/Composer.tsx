import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConversationItem } from '../api/types';
import { channels } from '../state/channels';
import { isAdmin } from '../state/session';
import { send, uploadFile } from '../state/conversation';
import { ErrorLine } from './Feedback';
import { TemplatePicker } from './TemplatePicker';

/** Why a reply cannot go out now, in words. */
const BLOCKED: Record<string, string> = {
  channel_inactive: "This conversation's channel is deactivated: replies cannot be sent until an admin turns it back on. Private notes still work.",
  outside_messaging_window: 'More than 24 hours have passed since the customer last wrote: WhatsApp takes only an approved template until they write again.',
};

/** The time now, again every `everyMs`: for what changes with the clock alone (a window closing). */
function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

const inWords = (ms: number) => {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
};

export function Composer({ conversation, textareaRef }: { conversation: ConversationItem; textareaRef: { current: HTMLTextAreaElement | null } }) {
  const [mode, setMode] = useState<'reply' | 'note'>('reply');
  const [text, setText] = useState('');
  const [files, setFiles] = useState<Array<{ id: string; file_name: string }>>([]);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  // The channel's state as the channels list has it now (kept live by the stream), over the conversation's copy.
  const channel = channels.value.find((ch) => ch.id === conversation.channel.id);
  const now = useNow(30_000);
  const closes = conversation.window_closes_at ? new Date(conversation.window_closes_at).getTime() : null;
  const windowClosed = closes !== null && closes <= now;
  const channelOn = channel ? channel.is_active : conversation.reply_blocked_reason !== 'channel_inactive';
  const reason = !channelOn ? 'channel_inactive' : windowClosed ? 'outside_messaging_window' : null;
  const blocked = mode === 'reply' && reason !== null;
  // Not blocked: a reply written now waits for new credentials and goes out once the channel has them.
  const reconnect = channel ? channel.status === 'reconnect_required' : conversation.reply_blocked_reason === 'reconnect_required';
  // A file still uploading has no id yet: the reply waits for it.
  const uploading = files.some((f) => !f.id);
  const canSend = !blocked && !uploading && (text.trim().length > 0 || (mode === 'reply' && files.length > 0));

  const submit = () => {
    if (!canSend) return;
    void send(mode, text.trim(), mode === 'reply' ? files.map((f) => f.id) : []);
    setText('');
    setFiles([]);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape') {
      (e.currentTarget as HTMLTextAreaElement).blur();
    }
  };
  const attach = async (list: FileList | null) => {
    setUploadError(null);
    for (const file of Array.from(list ?? [])) {
      try {
        setFiles((f) => [...f, { id: '', file_name: `${file.name} (uploading…)` }]);
        const up = await uploadFile(file);
        setFiles((f) => [...f.filter((x) => x.id !== ''), up]);
      } catch (err) {
        setFiles((f) => f.filter((x) => x.id !== ''));
        setUploadError(`${file.name}: ${(err as Error).message}`);
      }
    }
    if (fileInput.current) fileInput.current.value = '';
  };

  return (
    <form
      class={`composer ${mode}`}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div class="composer-modes" role="tablist" aria-label="Write">
        <button type="button" role="tab" aria-selected={mode === 'reply'} onClick={() => setMode('reply')}>
          Reply
        </button>
        <button type="button" role="tab" aria-selected={mode === 'note'} onClick={() => setMode('note')}>
          Private note
        </button>
      </div>
      {blocked && (
        <p class="composer-blocked" role="note">
          {BLOCKED[reason] ?? 'Replies cannot be sent in this conversation right now.'}
        </p>
      )}
      {mode === 'reply' && !blocked && reconnect && (
        <p class="composer-blocked" role="note">
          This channel needs reconnecting: {channel?.status_message ?? 'its platform refused the credentials'}. Replies you write now wait and go out, in order, once an admin
          updates them{isAdmin.value ? ' ' : '.'}
          {isAdmin.value && <a href={`/settings/channels/${conversation.channel.id}`}>in the channel's settings.</a>}
        </p>
      )}
      {mode === 'reply' && !blocked && closes !== null && (
        <p class="composer-window" role="note">
          Free-form replies for {inWords(closes - now)} more (24 hours after the customer's last message); then templates only.
        </p>
      )}
      {blocked && reason === 'outside_messaging_window' ? (
        <TemplatePicker conversation={conversation} />
      ) : (
        <>
          <textarea
            ref={textareaRef}
            aria-label={mode === 'reply' ? 'Reply' : 'Private note'}
            placeholder={mode === 'reply' ? `Reply to ${conversation.contact.name ?? conversation.contact.handle}… (Enter sends, Shift+Enter for a new line)` : 'A note only your team sees…'}
            value={text}
            disabled={blocked}
            rows={3}
            maxLength={4096}
            onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)}
            onKeyDown={onKeyDown}
          />
          {files.length > 0 && (
            <ul class="composer-files" aria-label="Files to send">
              {files.map((f, i) => (
                <li key={i}>
                  {f.file_name}
                  {f.id && (
                    <button type="button" class="link" aria-label={`Remove ${f.file_name}`} onClick={() => setFiles((all) => all.filter((x) => x !== f))}>
                      ×
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          <ErrorLine>{uploadError}</ErrorLine>
        </>
      )}
      {!(blocked && reason === 'outside_messaging_window') && (
        <div class="composer-actions">
          {mode === 'reply' && channel?.replies_with_files && !blocked && (
            <>
              <input ref={fileInput} type="file" multiple hidden onChange={(e) => void attach((e.currentTarget as HTMLInputElement).files)} />
              <button type="button" class="button secondary" onClick={() => fileInput.current?.click()}>
                Attach files
              </button>
            </>
          )}
          <span class="composer-spacer" />
          <button type="submit" class="button primary" disabled={!canSend}>
            {uploading ? 'Uploading…' : mode === 'reply' ? 'Send' : 'Add note'}
          </button>
        </div>
      )}
    </form>
  );
}
