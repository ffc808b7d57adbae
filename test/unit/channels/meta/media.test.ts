import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { downloadMedia } from '../../../../src/channels/meta/graph-api';
import { isAllowedMediaUrl } from '../../../../src/channels/meta/media-hosts';
import { PlatformError } from '../../../../src/channels/platform-error';
import type { AdapterContext } from '../../../../src/channels/types';

const META: AdapterContext = { telegramApiBaseUrl: 'https://api.telegram.org', metaGraphBaseUrl: 'https://graph.facebook.com', metaGraphVersion: 'v21.0', xApiBaseUrl: 'https://api.x.com' };

describe('which media URLs may be fetched', () => {
  test.each([
    ['https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x', true],
    ['https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1', true],
    ['https://scontent-ams2-1.xx.fbcdn.net/v/t1.jpg', true],
    ['https://scontent.cdninstagram.com/v/t51.jpg', true],
    ['https://graph.facebook.com/v21.0/123', true],
    ['http://lookaside.fbsbx.com/ig_messaging_cdn/', false],
    ['https://user:pw@lookaside.fbsbx.com/', false],
    ['https://fbcdn.net.attacker.example/x.jpg', false],
    ['https://evilfbcdn.net/x.jpg', false],
    ['https://lookaside.fbsbx.com.attacker.example/', false],
    ['http://169.254.169.254/latest/meta-data/', false],
    ['http://127.0.0.1:5432/', false],
    ['file:///etc/passwd', false],
  ])('%s → %s', (url, allowed) => {
    expect(isAllowedMediaUrl(new URL(url), META)).toBe(allowed);
  });

  test('the origin of META_GRAPH_BASE_URL is trusted whatever its scheme (the sandbox fake), its host on another port is not', () => {
    const ctx = { metaGraphBaseUrl: 'http://127.0.0.1:4010' };
    expect(isAllowedMediaUrl(new URL('http://127.0.0.1:4010/ig_messaging_cdn/?asset_id=1'), ctx)).toBe(true);
    expect(isAllowedMediaUrl(new URL('http://127.0.0.1:4011/'), ctx)).toBe(false);
    expect(isAllowedMediaUrl(new URL('http://169.254.169.254/'), ctx)).toBe(false);
  });
});

describe('downloadMedia', () => {
  let server: http.Server;
  let base: string;
  let requests: Array<{ url: string; authorization?: string }>;
  let fetchSpy: jest.SpyInstance;

  beforeAll(async () => {
    // Plays the Graph origin: /file serves bytes, /hop/<n> redirects n more times, /away redirects off it.
    server = http.createServer((req, res) => {
      requests.push({ url: req.url!, authorization: req.headers.authorization });
      const hops = /^\/hop\/(\d+)$/.exec(req.url!);
      if (req.url === '/file') res.writeHead(200, { 'content-type': 'image/png' }).end('png');
      else if (hops) res.writeHead(302, { location: Number(hops[1]) > 0 ? `/hop/${Number(hops[1]) - 1}` : '/file' }).end();
      else if (req.url === '/away') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/iam/' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    requests = [];
    fetchSpy = jest.spyOn(globalThis, 'fetch');
  });
  afterEach(() => fetchSpy.mockRestore());

  const ctx = () => ({ ...META, metaGraphBaseUrl: base });
  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as PlatformError);

  test('a URL off Meta\'s media hosts is refused with a clear error, and nothing is fetched', async () => {
    const err = await refusal(downloadMedia('http://169.254.169.254/latest/meta-data/', ctx(), 'EAAG-token'));
    expect(err).toBeInstanceOf(PlatformError);
    expect([err!.kind, err!.message]).toEqual(['rejected', 'the media URL points at http://169.254.169.254, which is not a Meta media host; not fetched']);
    expect((await refusal(downloadMedia('not a url', ctx())))!.message).toBe('the media URL is not a valid URL; not fetched');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  test('a redirect off Meta\'s media hosts is refused before it is followed', async () => {
    const err = await refusal(downloadMedia(`${base}/away`, ctx(), 'EAAG-token'));
    expect([err!.kind, err!.message]).toEqual(['rejected', 'the media URL points at http://169.254.169.254, which is not a Meta media host; not fetched']);
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    expect(requests.map((r) => r.url)).toEqual(['/away']);
  });

  test('redirects on allowed hosts are followed, a few at most', async () => {
    const media = await downloadMedia(`${base}/hop/2`, ctx(), 'EAAG-token');
    expect([media.contentType, Buffer.from(await new Response(media.body).arrayBuffer()).toString()]).toEqual(['image/png', 'png']);
    expect(requests).toEqual(['/hop/2', '/hop/1', '/hop/0', '/file'].map((url) => ({ url, authorization: 'Bearer EAAG-token' })));

    requests = [];
    const err = await refusal(downloadMedia(`${base}/hop/3`, ctx()));
    expect([err!.kind, err!.message]).toEqual(['rejected', 'the media URL redirected more than 3 times; not followed']);
    expect(requests.map((r) => r.url)).toEqual(['/hop/3', '/hop/2', '/hop/1', '/hop/0']);
  });
});
