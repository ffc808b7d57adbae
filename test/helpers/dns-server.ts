import dns2 from 'dns2';
import type { SendingDomain } from './mail-auth';

const { Packet } = dns2;

/**
 * A DNS server on loopback answering the TXT records of some sending domains (DKIM keys,
 * SPF, DMARC) and NXDOMAIN for anything else: what PingBack's mail checks query when
 * MAIL_AUTH_DNS_SERVERS points at it. Records can be added while it runs.
 */
export async function startDnsServer(...domains: SendingDomain[]): Promise<{ address: string; add(d: SendingDomain): void; stop(): Promise<void> }> {
  const records = new Map<string, string[][]>();
  const add = (d: SendingDomain) => Object.entries(d.records).forEach(([name, rr]) => records.set(name.toLowerCase(), rr));
  domains.forEach(add);
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const hit = question && question.type === Packet.TYPE.TXT ? records.get(question.name.toLowerCase()) : undefined;
      if (!hit) response.header.rcode = Packet.RCODE.NXDOMAIN;
      for (const rr of hit ?? []) {
        // One character-string holds 255 bytes at most: a DKIM key spans several.
        const text = rr.join('');
        const chunks = text.match(/[\s\S]{1,255}/g) ?? [''];
        response.answers.push({ name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 60, data: chunks } as never);
      }
      void send(response);
    },
  });
  await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const { port } = server.addresses().udp as { port: number };
  return { address: `127.0.0.1:${port}`, add, stop: () => (server.close(), Promise.resolve()) };
}
