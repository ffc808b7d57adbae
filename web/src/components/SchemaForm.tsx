import { useState } from 'preact/hooks';
import type { FieldError } from '../api/client';
import type { JsonSchema } from '../api/types';

type Value = Record<string, unknown>;

const WORDS: Record<string, string> = { url: 'URL', id: 'ID', smtp: 'SMTP', imap: 'IMAP', api: 'API', oauth2: 'OAuth 2.0', x: 'X', dmarc: 'DMARC' };
/** "bot_token" → "Bot token", "smtp" → "SMTP". */
export function labelOf(key: string): string {
  const words = key.split('_').map((w) => WORDS[w] ?? w);
  const first = words[0];
  return [first === first.toLowerCase() ? first[0].toUpperCase() + first.slice(1) : first, ...words.slice(1)].join(' ');
}

/** A oneOf whose branches are objects told apart by one property's `const` (email's inbound method). */
function discriminatorOf(schema: JsonSchema): string | undefined {
  const branches = schema.oneOf ?? schema.anyOf;
  if (!branches?.length) return undefined;
  const first = branches[0].properties ?? {};
  return Object.keys(first).find((k) => branches.every((b) => b.properties?.[k]?.const !== undefined));
}

/** The schema's defaults, so a form starts as the server would fill it. */
export function defaultsOf(schema: JsonSchema): Value {
  const out: Value = {};
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const d = discriminatorOf(prop);
    if (d) out[key] = { [d]: (prop.oneOf ?? prop.anyOf)![0].properties![d].const, ...defaultsOf((prop.oneOf ?? prop.anyOf)![0]) };
    else if (prop.type === 'object') out[key] = defaultsOf(prop);
    else if (prop.default !== undefined) out[key] = prop.default;
  }
  return out;
}

const isEmpty = (v: unknown) => v === '' || v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/**
 * The value without what was left empty: an optional field not filled in is not sent. Editing a
 * stored config (`stored`), a field that had a value and was emptied is sent as null, which the
 * API takes as "remove it" (the config is merged into the stored one, so leaving it out keeps it).
 */
export function compact(value: unknown, stored?: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object') {
    const before = (stored && typeof stored === 'object' ? stored : {}) as Value;
    const out: Value = {};
    for (const [k, v] of Object.entries(value)) {
      const c = compact(v, before[k]);
      if (!isEmpty(c)) out[k] = c;
      else if (!isEmpty(before[k])) out[k] = null;
    }
    return out;
  }
  return value;
}

interface Props {
  schema: JsonSchema;
  value: Value;
  onChange(value: Value): void;
  /** Dotted paths of secret values: password inputs, and (when editing) kept unless replaced. */
  secretFields: string[];
  errors: FieldError[];
  /** Editing a stored config: secrets arrive masked and stay unless the user replaces them. */
  editing?: boolean;
}

/**
 * A form generated from a channel type's JSON Schema (which the server derives from the zod
 * schema that validates it), so a new channel type needs no new form. Field errors from a 422
 * are shown next to their fields by path.
 */
export function SchemaForm(props: Props) {
  return <ObjectFields {...props} schema={props.schema} path="" />;
}

function ObjectFields(props: Props & { path: string }) {
  const { schema, value, onChange, path } = props;
  const required = new Set(schema.required ?? []);
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([key, prop]) => {
        const at = path ? `${path}.${key}` : key;
        const set = (v: unknown) => onChange({ ...value, [key]: v });
        return <Field key={at} {...props} name={key} path={at} prop={prop} required={required.has(key)} current={value[key]} set={set} />;
      })}
    </>
  );
}

function Field(props: Props & { name: string; path: string; prop: JsonSchema; required: boolean; current: unknown; set(v: unknown): void }) {
  const { prop, path, current, set, errors } = props;
  const id = `field-${path.replace(/\./g, '-')}`;
  const error = errors.find((e) => e.path === path || e.path.startsWith(`${path}.`));
  const label = (
    <label for={id}>
      {labelOf(props.name)}
      {!props.required && prop.default === undefined && <span class="muted"> (optional)</span>}
    </label>
  );
  const errorText = error && (
    <p class="field-error" id={`${id}-error`} role="alert">
      {error.message}
    </p>
  );
  const described = error ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : {};
  const discriminator = discriminatorOf(prop);

  if (discriminator) {
    const branches = (prop.oneOf ?? prop.anyOf)!;
    const obj = (current as Value) ?? {};
    const chosen = branches.find((b) => b.properties![discriminator].const === obj[discriminator]) ?? branches[0];
    return (
      <fieldset class="form-group">
        <legend>{labelOf(props.name)}</legend>
        <label for={id}>{labelOf(discriminator)}</label>
        <select
          id={id}
          value={String(chosen.properties![discriminator].const)}
          onChange={(e) => {
            const next = branches.find((b) => String(b.properties![discriminator].const) === (e.currentTarget as HTMLSelectElement).value)!;
            set({ [discriminator]: next.properties![discriminator].const, ...defaultsOf(next) });
          }}
        >
          {branches.map((b) => (
            <option key={String(b.properties![discriminator].const)} value={String(b.properties![discriminator].const)}>
              {String(b.properties![discriminator].const)}
            </option>
          ))}
        </select>
        <ObjectFields
          {...props}
          schema={{ ...chosen, properties: Object.fromEntries(Object.entries(chosen.properties ?? {}).filter(([k]) => k !== discriminator)) }}
          value={obj}
          onChange={set as (v: Value) => void}
        />
        {errorText}
      </fieldset>
    );
  }
  if (prop.type === 'object') {
    return (
      <fieldset class="form-group">
        <legend>{labelOf(props.name)}</legend>
        <ObjectFields {...props} schema={prop} value={(current as Value) ?? {}} onChange={set as (v: Value) => void} />
      </fieldset>
    );
  }
  if (prop.type === 'boolean') {
    return (
      <div class="field checkbox">
        <label>
          <input type="checkbox" checked={Boolean(current)} onChange={(e) => set((e.currentTarget as HTMLInputElement).checked)} /> {labelOf(props.name)}
        </label>
        {prop.description && <p class="hint">{prop.description}</p>}
        {errorText}
      </div>
    );
  }
  if (prop.enum) {
    return (
      <div class="field">
        {label}
        <select id={id} value={String(current ?? '')} onChange={(e) => set((e.currentTarget as HTMLSelectElement).value)} {...described}>
          {prop.enum.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
        {errorText}
      </div>
    );
  }
  if (prop.type === 'array') {
    const lines = Array.isArray(current) ? (current as string[]).join('\n') : '';
    return (
      <div class="field">
        {label}
        <textarea id={id} rows={3} value={lines} onInput={(e) => set((e.currentTarget as HTMLTextAreaElement).value.split('\n').map((l) => l.trim()).filter(Boolean))} {...described} />
        <p class="muted small">One per line.</p>
        {errorText}
      </div>
    );
  }
  if (prop.type === 'integer' || prop.type === 'number') {
    return (
      <div class="field">
        {label}
        <input
          id={id}
          type="number"
          min={prop.minimum}
          max={prop.maximum}
          value={current === undefined ? '' : String(current)}
          onInput={(e) => {
            const raw = (e.currentTarget as HTMLInputElement).value;
            set(raw === '' ? undefined : Number(raw));
          }}
          {...described}
        />
        {errorText}
      </div>
    );
  }
  return <TextField {...props} id={id} label={label} errorText={errorText} described={described} />;
}

function TextField(props: Props & { name: string; path: string; prop: JsonSchema; current: unknown; set(v: unknown): void; id: string; label: preact.JSX.Element; errorText: unknown; described: object }) {
  const { path, current, set, id, prop } = props;
  const secret = props.secretFields.includes(path);
  const masked = props.editing && secret && typeof current === 'string' && current.includes('*');
  const [replacing, setReplacing] = useState(!masked);
  if (secret && !replacing) {
    return (
      <div class="field">
        {props.label}
        <div class="copy-row">
          <input id={id} value={String(current)} readOnly aria-readonly="true" />
          <button type="button" class="button secondary" onClick={() => (setReplacing(true), set(''))}>
            Replace
          </button>
        </div>
        {props.errorText}
      </div>
    );
  }
  const color = prop.pattern === '^#[0-9a-f]{6}$';
  const input = secret ? (
    <input id={id} type="password" autoComplete="new-password" maxLength={prop.maxLength} value={String(current ?? '')} onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} {...props.described} />
  ) : (
    <input id={id} type="text" autoComplete="off" maxLength={prop.maxLength} value={String(current ?? '')} onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} {...props.described} />
  );
  return (
    <div class="field">
      {props.label}
      {color ? (
        <div class="color-row">
          <input type="color" aria-label={`Pick the ${labelOf(props.name).toLowerCase()}`} value={String(current || '#4f46e5')} onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} />
          {input}
        </div>
      ) : (
        input
      )}
      {props.errorText as any}
    </div>
  );
}
