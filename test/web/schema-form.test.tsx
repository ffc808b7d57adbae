import { fireEvent, render, screen } from '@testing-library/preact';
import { useState } from 'preact/hooks';
import { describe, expect, test } from 'vitest';
import type { JsonSchema } from '../../web/src/api/types';
import { compact, defaultsOf, labelOf, SchemaForm } from '../../web/src/components/SchemaForm';

/** The email channel's schema as GET /api/channel-types serves it (abridged): nested objects, a oneOf told apart by `method`. */
const EMAIL: JsonSchema = {
  type: 'object',
  properties: {
    address: { type: 'string', maxLength: 254 },
    inbound: {
      oneOf: [
        {
          type: 'object',
          properties: { method: { type: 'string', const: 'imap' }, host: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 }, secure: { type: 'boolean', default: true }, password: { type: 'string' } },
          required: ['method', 'host', 'port', 'password'],
        },
        { type: 'object', properties: { method: { type: 'string', const: 'webhook' } }, required: ['method'] },
      ],
    },
    smtp: { type: 'object', properties: { host: { type: 'string' }, password: { type: 'string' } }, required: ['host', 'password'] },
    from_name: { type: 'string' },
  },
  required: ['address', 'inbound', 'smtp'],
};

function Harness(props: { schema: JsonSchema; initial?: Record<string, unknown>; errors?: Array<{ path: string; message: string }>; editing?: boolean; onValue(v: unknown): void }) {
  const [value, setValue] = useState(props.initial ?? defaultsOf(props.schema));
  props.onValue(compact(value));
  return <SchemaForm schema={props.schema} value={value} onChange={setValue} secretFields={['inbound.password', 'smtp.password']} errors={props.errors ?? []} editing={props.editing} />;
}

describe('the channel form, generated from a JSON Schema', () => {
  test('labels in words, optional fields marked, defaults filled, secrets hidden, nested groups', () => {
    let value: any;
    render(<Harness schema={EMAIL} onValue={(v) => (value = v)} />);
    expect(labelOf('smtp')).toBe('SMTP');
    expect(labelOf('logo_url')).toBe('Logo URL');
    expect(screen.getByLabelText('Address')).toBeTruthy();
    expect(screen.getByLabelText(/From name/).closest('.field')?.textContent).toContain('(optional)');
    expect((screen.getAllByLabelText('Password')[0] as HTMLInputElement).type).toBe('password');
    expect(screen.getByRole('group', { name: 'SMTP' })).toBeTruthy();
    expect(value).toEqual({ inbound: { method: 'imap', secure: true } });
  });

  test('a oneOf is a choice: switching the method shows that branch\'s fields only', () => {
    let value: any;
    render(<Harness schema={EMAIL} onValue={(v) => (value = v)} />);
    expect(screen.getAllByLabelText('Host')).toHaveLength(2);
    fireEvent.change(screen.getByLabelText('Method'), { target: { value: 'webhook' } });
    expect(screen.getAllByLabelText('Host')).toHaveLength(1);
    expect(value.inbound).toEqual({ method: 'webhook' });
  });

  test('what the user types becomes the config, numbers as numbers; empty optional fields are not sent', () => {
    let value: any;
    render(<Harness schema={EMAIL} onValue={(v) => (value = v)} />);
    fireEvent.input(screen.getByLabelText('Address'), { target: { value: 'support@acme.test' } });
    fireEvent.input(screen.getByLabelText('Port'), { target: { value: '993' } });
    fireEvent.input(screen.getAllByLabelText('Host')[1], { target: { value: 'smtp.acme.test' } });
    expect(value).toEqual({ address: 'support@acme.test', inbound: { method: 'imap', secure: true, port: 993 }, smtp: { host: 'smtp.acme.test' } });
  });

  test('editing: a stored value that was emptied is sent as null (the API merges configs: left out, it would stay)', () => {
    expect(compact({ welcome_message: '', brand_color: '#0f766e', logo_url: '' }, { welcome_message: 'Hi', brand_color: '#000000' })).toEqual({
      welcome_message: null,
      brand_color: '#0f766e',
    });
    expect(compact({ smtp: { host: 'h', user: '' } }, { smtp: { host: 'h', user: 'u' } })).toEqual({ smtp: { host: 'h', user: null } });
  });

  test("a 422's field errors show next to their fields", () => {
    render(<Harness schema={EMAIL} errors={[{ path: 'smtp.host', message: 'must not be empty' }]} onValue={() => undefined} />);
    const smtpHost = screen.getAllByLabelText('Host')[1];
    expect(smtpHost.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(smtpHost.getAttribute('aria-describedby')!)?.textContent).toBe('must not be empty');
  });

  test('editing: a stored secret stays masked until replaced, and is sent back masked (the server keeps it)', () => {
    let value: any;
    render(<Harness schema={EMAIL} editing initial={{ address: 'a@b.test', inbound: { method: 'webhook' }, smtp: { host: 'h', password: '********abcd' } }} onValue={(v) => (value = v)} />);
    const masked = screen.getByDisplayValue('********abcd') as HTMLInputElement;
    expect(masked.readOnly).toBe(true);
    expect(value.smtp.password).toBe('********abcd');
    fireEvent.click(screen.getByRole('button', { name: 'Replace' }));
    fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'new secret' } });
    expect(value.smtp.password).toBe('new secret');
  });
});
