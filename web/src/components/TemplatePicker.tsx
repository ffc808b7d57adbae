import { useEffect, useState } from 'preact/hooks';
import { get } from '../api/client';
import type { ConversationItem } from '../api/types';
import type { TemplateInfo as Template } from '../../../src/channels/whatsapp/templates';
import { sendTemplate } from '../state/conversation';
import { ErrorLine } from './Feedback';

const fill = (text: string, values: string[]) => text.replace(/\{\{\s*(\d+)\s*\}\}/g, (m, n: string) => values[Number(n) - 1] || m);

/**
 * Past WhatsApp's 24-hour window only an approved template goes out: the agent picks one,
 * fills in its parameters, sees what the customer will read, and sends it.
 */
export function TemplatePicker({ conversation }: { conversation: ConversationItem }) {
  const [templates, setTemplates] = useState<Template[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [picked, setPicked] = useState(0);
  const [values, setValues] = useState<{ header: string[]; body: string[] }>({ header: [], body: [] });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setTemplates(null);
    setLoadError(null);
    get<{ data: Template[] }>(`/api/channels/${conversation.channel.id}/templates`).then(
      (r) => setTemplates(r.data),
      (err: Error) => setLoadError(err.message),
    );
  }, [conversation.channel.id]);

  if (loadError) return <p class="composer-blocked" role="note">Templates could not be loaded: {loadError}</p>;
  if (!templates) return <p class="muted">Loading templates…</p>;
  if (templates.length === 0) return <p class="composer-blocked" role="note">This WhatsApp Business Account has no approved templates; create one in WhatsApp Manager.</p>;

  const t = templates[Math.min(picked, templates.length - 1)];
  const list = (part: 'header' | 'body') => Array.from({ length: t.parameters[part] }, (_, i) => values[part][i] ?? '');
  const complete = (['header', 'body'] as const).every((part) => list(part).every((v) => v.trim().length > 0));
  const set = (part: 'header' | 'body', i: number, v: string) => setValues((all) => ({ ...all, [part]: Object.assign([...list(part)], { [i]: v }) }));
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const components = (['header', 'body'] as const)
        .filter((part) => t.parameters[part] > 0)
        .map((part) => ({ type: part, parameters: list(part).map((text) => ({ type: 'text' as const, text: text.trim() })) }));
      await sendTemplate({ name: t.name, language: t.language, components });
      setValues({ header: [], body: [] });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="template-picker">
      <label>
        Template{' '}
        <select aria-label="Template" value={String(picked)} onChange={(e) => (setPicked(Number((e.currentTarget as HTMLSelectElement).value)), setValues({ header: [], body: [] }))}>
          {templates.map((x, i) => (
            <option key={`${x.name}/${x.language}`} value={String(i)}>
              {x.name} ({x.language})
            </option>
          ))}
        </select>
      </label>
      {(['header', 'body'] as const).flatMap((part) =>
        list(part).map((v, i) => (
          <label key={`${part}${i}`} class="template-parameter">
            {part === 'header' ? 'Header' : 'Body'} {`{{${i + 1}}}`}
            <input type="text" value={v} maxLength={1024} onInput={(e) => set(part, i, (e.currentTarget as HTMLInputElement).value)} />
          </label>
        )),
      )}
      <blockquote class="template-preview" aria-label="What the customer will read">
        {t.header && <strong>{fill(t.header, list('header'))}</strong>}
        <span>{fill(t.body, list('body'))}</span>
      </blockquote>
      <ErrorLine>{error}</ErrorLine>
      <div class="composer-actions">
        <span class="composer-spacer" />
        <button type="button" class="button primary" disabled={!complete || busy} onClick={() => void submit()}>
          Send template
        </button>
      </div>
    </div>
  );
}
