/// <reference lib="dom" />
import { MAX_ATTACHMENTS_PER_MESSAGE } from '../channels/webchat/fields';

/**
 * The web chat widget a site embeds:
 *
 *   <script src="https://pingback.example.com/widget.js" data-channel="CHANNEL_ID" async></script>
 *
 * Served as this function's compiled source (GET /widget.js), so it is type-checked with
 * the rest of PingBack and needs no bundler; it therefore uses nothing from outside its
 * own body. It talks to the widget API (src/widget/routes.ts) at the origin it was
 * loaded from, keeps the visitor's token in localStorage (one conversation per visitor
 * and channel, across page loads), long-polls for replies and retries a message with
 * the same id until the api has it, so a flaky connection never sends it twice.
 * The api serves tsc's output of it (dist/); a compiler that adds helpers inside the
 * body (esbuild's keepNames, coverage counters) would break it in the browser.
 */
export function pingbackWidget(options: WidgetOptions): void {
  // A page that loads the script twice (a tag manager, a single-page app) gets one chat.
  const w = window as unknown as { __pingbackWidget?: boolean };
  if (w.__pingbackWidget) return;
  w.__pingbackWidget = true;
  const script = (document.currentScript as HTMLScriptElement | null) ?? document.querySelector<HTMLScriptElement>('script[data-channel][src*="widget.js"]');
  const channel = script?.dataset.channel;
  if (!script || !channel) {
    console.error('PingBack widget: add data-channel="<channel id>" to its <script> tag');
    return;
  }
  const api = `${new URL(script.src, location.href).origin}/widget/${encodeURIComponent(channel)}`;
  // The dashboard's preview (data-preview): the settings from the tag, open at once, nothing sent.
  const preview = script.dataset.preview !== undefined;
  const tokenKey = `pingback:${channel}:token`;
  const storage = (() => {
    try {
      localStorage.setItem('pingback:probe', '1');
      localStorage.removeItem('pingback:probe');
      return localStorage;
    } catch {
      return undefined; // storage blocked (private mode, sandboxed frame): the chat lasts as long as the page
    }
  })();
  let token: string | null = storage?.getItem(tokenKey) ?? null;
  let visitorStarting: Promise<void> | undefined;
  let sending: Promise<void> = Promise.resolve(); // messages go one at a time, in the order written
  let cursor: string | undefined;
  let polling = false;
  const shown = new Set<string>(); // message ids and the widget's own ids already on screen

  type WidgetFile = { id: string; file_name: string | null; content_type: string };
  type WidgetMessage = { id: string; from: 'visitor' | 'agent'; content: string; client_message_id?: string; attachments?: WidgetFile[] };
  type Settings = { active: boolean; welcome_message: string | null; brand_color: string | null; logo_url: string | null };

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function call(method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const file = body instanceof Blob ? body : undefined;
    if (file) headers['content-type'] = file.type || 'application/octet-stream';
    else if (body !== undefined) headers['content-type'] = 'application/json';
    // A request a dead network (a phone changing networks) would leave hanging is given up and retried.
    const res = await fetch(api + path, { method, headers, body: file ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(timeoutMs) });
    // The api renews a token half way through its life: the same visitor, kept from now on.
    const renewed = res.headers.get('x-visitor-token');
    if (renewed && token) {
      token = renewed;
      storage?.setItem(tokenKey, renewed);
    }
    return res;
  }
  const retryAfterMs = (res: Response, fallback: number) => {
    const seconds = Number(res.headers.get('retry-after'));
    return seconds > 0 ? seconds * 1000 : fallback;
  };
  /** The api's error: its code to branch on, its message to show. */
  async function refusalOf(res: Response): Promise<{ code?: string; message: string }> {
    const json = await res.json().catch(() => null);
    return { code: json?.error?.code, message: json?.error?.message ?? `HTTP ${res.status}` };
  }
  const errorOf = async (res: Response) => (await refusalOf(res)).message;

  // --- the page ---
  const host = document.createElement('div');
  host.setAttribute('data-pingback-widget', '');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `
    <style>
      :host { all: initial; }
      .launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%; border: 0;
        color: #fff; display: grid; place-items: center; cursor: pointer; box-shadow: 0 4px 12px rgba(0,0,0,.25); z-index: 2147483000; }
      .panel { position: fixed; right: 20px; bottom: 88px; width: min(360px, calc(100vw - 40px)); height: min(520px, calc(100vh - 120px));
        display: none; flex-direction: column; background: #fff; border-radius: 12px; overflow: hidden;
        box-shadow: 0 8px 28px rgba(0,0,0,.25); font: 14px/1.4 system-ui, sans-serif; color: #1b1b1b; z-index: 2147483000; }
      .panel.open { display: flex; }
      header { padding: 12px 16px; color: #fff; display: flex; align-items: center; gap: 8px; font-weight: 600; }
      header img { height: 24px; }
      .log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 6px; background: #f6f6f7; }
      .msg { max-width: 80%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; }
      .agent { align-self: flex-start; background: #fff; border: 1px solid #e2e2e5; }
      .visitor { align-self: flex-end; color: #fff; }
      .sending { opacity: .6; }
      .failed { outline: 2px solid #c62828; }
      .note { align-self: center; color: #6b6b70; font-size: 12px; }
      form { display: flex; border-top: 1px solid #e2e2e5; }
      textarea { flex: 1; border: 0; padding: 12px; resize: none; font: inherit; }
      textarea:focus-visible, button:focus-visible { outline: 2px solid #1b1b1b; outline-offset: -2px; }
      .failed::after { content: ' (not sent)'; font-size: 12px; }
      .file { display: block; margin-top: 4px; padding: 0; border: 0; background: none; color: inherit; font: inherit;
        text-decoration: underline; cursor: pointer; text-align: left; }
      button.attach { border: 0; padding: 0 10px; background: none; color: #6b6b70; cursor: pointer; }
      button.send { border: 0; padding: 0 16px; color: #fff; font: 600 14px system-ui, sans-serif; cursor: pointer; }
    </style>
    <button class="launcher" aria-label="Chat with us" aria-expanded="false"><svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg></button>
    <div class="panel" role="dialog" aria-label="Chat">
      <header><span class="title">Chat with us</span></header>
      <div class="log" role="log" aria-live="polite"></div>
      <form><button class="attach" type="button" aria-label="Attach a file"><svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path fill="currentColor" d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg></button><input type="file" hidden multiple><textarea rows="2" placeholder="Write a message…" aria-label="Message" maxlength="4096"></textarea><button class="send" type="submit">Send</button></form>
    </div>`;
  const launcher = root.querySelector<HTMLButtonElement>('.launcher')!;
  const panel = root.querySelector<HTMLDivElement>('.panel')!;
  const log = root.querySelector<HTMLDivElement>('.log')!;
  const form = root.querySelector<HTMLFormElement>('form')!;
  const input = root.querySelector<HTMLTextAreaElement>('textarea')!;
  const picker = root.querySelector<HTMLInputElement>('input[type=file]')!;

  function bubble(from: 'visitor' | 'agent' | 'note', text: string): HTMLDivElement {
    const el = document.createElement('div');
    el.className = from === 'note' ? 'note' : `msg ${from}`;
    el.textContent = text; // never innerHTML: messages are other people's text
    if (from === 'visitor') el.style.background = brand;
    log.appendChild(el);
    log.scrollTop = log.scrollHeight;
    return el;
  }
  /**
   * A file in a bubble, opened when clicked. A blob: URL has the page's origin and ignores
   * the api's Content-Disposition, so only what cannot run script opens in place (images,
   * audio, video; not SVG); anything else is saved as a download, never rendered.
   */
  function fileLine(el: HTMLDivElement, name: string, read: () => Promise<Blob>): void {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'file';
    b.textContent = `📎 ${name}`;
    b.addEventListener('click', () => {
      void read().then(
        (blob) => {
          const type = blob.type.toLowerCase();
          const inPlace = /^(image|audio|video)\//.test(type) && type !== 'image/svg+xml';
          const url = URL.createObjectURL(inPlace ? blob : new Blob([blob], { type: 'application/octet-stream' }));
          const a = document.createElement('a');
          a.href = url;
          a.rel = 'noopener';
          if (inPlace) a.target = '_blank';
          else a.download = name;
          a.click();
          setTimeout(() => URL.revokeObjectURL(url), 60_000);
        },
        () => (b.title = 'could not open the file'),
      );
    });
    el.appendChild(b);
  }
  /** One of the visitor's files, read with the visitor's token (an <a href> could not send it). */
  async function download(file: WidgetFile): Promise<Blob> {
    const res = await call('GET', `/attachments/${encodeURIComponent(file.id)}`);
    if (!res.ok) throw new Error(await errorOf(res));
    const blob = await res.blob();
    return blob.type ? blob : new Blob([blob], { type: file.content_type });
  }
  function show(m: WidgetMessage): void {
    if (shown.has(m.id) || (m.client_message_id && shown.has(m.client_message_id))) return;
    shown.add(m.id);
    const el = bubble(m.from, m.content);
    for (const f of m.attachments ?? []) fileLine(el, f.file_name ?? 'file', () => download(f));
  }

  let brand = '#2f6fed';
  let closedNote: HTMLDivElement | undefined;
  function applySettings(s: Settings): void {
    brand = s.brand_color ?? brand;
    for (const el of [launcher, root.querySelector<HTMLElement>('header')!, root.querySelector<HTMLElement>('button.send')!]) el.style.background = brand;
    if (s.logo_url) {
      const img = document.createElement('img');
      img.src = s.logo_url;
      img.alt = '';
      root.querySelector('header')!.prepend(img);
    }
    if (s.welcome_message) bubble('agent', s.welcome_message);
    if (!s.active) closedNote = bubble('note', 'This chat is not taking messages right now.');
  }

  // --- talking to PingBack ---
  /** Reads everything new; with `wait`, holds until something arrives. */
  async function readNew(wait: number): Promise<void> {
    for (;;) {
      const res = await call('GET', `/messages?wait=${wait}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, undefined, (wait + 10) * 1000);
      if (res.status === 400 && cursor) {
        cursor = undefined; // a cursor from before the server's key changed: start over (shown messages are skipped)
        continue;
      }
      if (res.status === 401) {
        token = null;
        storage?.removeItem(tokenKey);
        return;
      }
      if (res.status === 429) {
        await sleep(retryAfterMs(res, 5_000));
        return;
      }
      if (!res.ok) throw new Error(await errorOf(res));
      const page = (await res.json()) as { data: WidgetMessage[]; cursor: string };
      cursor = page.cursor;
      page.data.forEach(show);
      if (page.data.length < 100) return;
      wait = 0; // a full page: more are waiting
    }
  }

  async function pollForever(): Promise<void> {
    if (polling) return;
    polling = true;
    let backoff = 1000;
    while (token) {
      try {
        const started = Date.now();
        await readNew(25);
        backoff = 1000;
        // Back early with nothing: another tab of this visitor took over the server's wait. Pause,
        // rather than take it back at once and have the two tabs end each other's polls forever.
        if (Date.now() - started < 20_000) await sleep(3_000);
      } catch {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
    polling = false;
  }

  /** One visitor however many messages are sent before the first answer comes back. */
  function ensureVisitor(): Promise<void> {
    if (token) return Promise.resolve();
    visitorStarting ??= (async () => {
      try {
        const res = await call('POST', '/visitors');
        if (!res.ok) throw Object.assign(new Error(await errorOf(res)), { status: res.status, retryAfterMs: retryAfterMs(res, 0) });
        token = ((await res.json()) as { token: string }).token;
        storage?.setItem(tokenKey, token);
      } finally {
        visitorStarting = undefined;
      }
    })();
    return visitorStarting;
  }

  /** Shows the message at once and queues it behind any still being sent. */
  function send(text: string, files: File[] = []): void {
    if (preview) {
      bubble('visitor', text);
      bubble('note', 'This is a preview: nothing is sent.');
      return;
    }
    const id = `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    shown.add(id);
    const el = bubble('visitor', text);
    for (const f of files) fileLine(el, f.name || 'file', async () => f);
    el.classList.add('sending');
    sending = sending.then(() => deliver(id, text, el, files));
  }

  /**
   * Sends until the api has it (the same id every time, so it is stored once) or refuses it.
   * Files go first, each with an id of its own derived from the message's, so a retried
   * upload is stored once too.
   */
  async function deliver(id: string, text: string, el: HTMLDivElement, files: File[]): Promise<void> {
    let renewed = false;
    let reuploaded = false;
    const uploaded: string[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        await ensureVisitor();
        const res = (await uploadRest(id, files, uploaded)) ?? (await call('POST', '/messages', { id, content: text, attachments: uploaded }));
        if (res.ok) break;
        if (res.status === 429 || res.status >= 500) {
          await sleep(retryAfterMs(res, Math.min(1000 * 2 ** attempt, 30_000)));
          continue;
        }
        if (res.status === 401 && !renewed) {
          // The stored token is no longer valid (the channel was recreated): a new visitor, once,
          // whose uploads these are not: they go again.
          renewed = true;
          token = null;
          storage?.removeItem(tokenKey);
          uploaded.length = 0;
          continue;
        }
        const refusal = await refusalOf(res);
        if (refusal.code === 'invalid_attachment' && uploaded.length > 0 && !reuploaded) {
          // Offline so long that the api swept the uploads as never sent: they go again, once.
          reuploaded = true;
          uploaded.length = 0;
          continue;
        }
        el.classList.replace('sending', 'failed');
        el.title = refusal.message;
        return;
      } catch (err) {
        const { status, retryAfterMs: wait } = err as { status?: number; retryAfterMs?: number };
        if (status && status < 500 && status !== 429) {
          el.classList.replace('sending', 'failed');
          el.title = (err as Error).message;
          return;
        }
        await sleep(wait || Math.min(1000 * 2 ** attempt, 30_000)); // offline or the api unreachable: keep trying
      }
    }
    el.classList.remove('sending');
    void pollForever();
  }

  /** Uploads the files not uploaded yet, adding their ids to `uploaded`; answers the refusal that stopped it, if one did. */
  async function uploadRest(id: string, files: File[], uploaded: string[]): Promise<Response | undefined> {
    while (uploaded.length < files.length) {
      const f = files[uploaded.length];
      const query = `id=${id}.f${uploaded.length}${f.name ? `&name=${encodeURIComponent(f.name)}` : ''}`;
      const res = await call('POST', `/attachments?${query}`, f, 120_000);
      if (!res.ok) return res;
      uploaded.push(((await res.json()) as { id: string }).id);
    }
    return undefined;
  }

  function setOpen(open: boolean): void {
    panel.classList.toggle('open', open);
    launcher.setAttribute('aria-expanded', String(open));
    (open ? input : launcher).focus();
  }
  launcher.addEventListener('click', () => setOpen(!panel.classList.contains('open')));
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') setOpen(false);
  });
  root.querySelector<HTMLButtonElement>('button.attach')!.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    const files = Array.from(picker.files ?? []);
    picker.value = ''; // the same file can be picked again
    if (files.length === 0 || closedNote) return;
    // The text typed so far goes with the files, as a caption; as many files per message as the api takes.
    const text = input.value.trim();
    input.value = '';
    for (let i = 0; i < files.length; i += options.filesPerMessage) send(i === 0 ? text : '', files.slice(i, i + options.filesPerMessage));
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || closedNote) return;
    input.value = '';
    send(text);
  });
  input.addEventListener('keydown', (e) => {
    // Enter while an input method is composing (Japanese, Chinese …) picks a word; it does not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  if (preview) {
    const d = script.dataset;
    document.body.appendChild(host);
    applySettings({ active: true, welcome_message: d.welcomeMessage || null, brand_color: d.brandColor || null, logo_url: d.logoUrl || null });
    // Open, but without taking the focus: the page around the preview is a form being typed in.
    panel.classList.add('open');
    launcher.setAttribute('aria-expanded', 'true');
    return;
  }
  void (async () => {
    const res = await fetch(api).catch(() => undefined);
    if (!res?.ok) {
      console.error(`PingBack widget: ${res ? await errorOf(res) : 'the chat server is unreachable'}`);
      return;
    }
    document.body.appendChild(host);
    applySettings((await res.json()) as Settings);
    // A returning visitor sees their conversation so far and keeps getting replies.
    if (token) void pollForever();
  })();
}

/** What the api tells the widget about itself: limits the script would otherwise copy. */
export interface WidgetOptions {
  filesPerMessage: number;
}

/** What GET /widget.js serves: the function above, compiled, called once. */
export const WIDGET_SCRIPT = `/* PingBack web chat widget */\n(${pingbackWidget.toString()})(${JSON.stringify({ filesPerMessage: MAX_ATTACHMENTS_PER_MESSAGE } satisfies WidgetOptions)});\n`;
