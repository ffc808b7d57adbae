/**
 * A customer's answer usually carries the whole thread below it ("On Tue, … wrote:" and the
 * quoted mail, or Outlook's "-----Original Message-----" and the old mail unquoted), which the
 * agent already has in the conversation. Cut only where that is near certain, since what is
 * cut is not what the agent reads first (it is kept beside the message):
 * - only in a reply (the mail names the one it answers), so a forward keeps what it forwards;
 * - only a trailing block: an answer written between the quoted lines keeps the mail whole;
 * - a ">" block only below an attribution that starts like one and carries a date or an
 *   address; Outlook's separator only as the whole line.
 */

/** The verbs of attribution lines (Gmail, Apple Mail, Thunderbird, Outlook on the web; en, de, fr, es, nl, it, pt). */
const ATTRIBUTION_VERB = /(?:^|[^\p{L}\p{N}])(wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu)(?![\p{L}\p{N}])/iu;
/** How those attributions begin ("On …", "Am …", "Le …", "El …", "Op …", "Il …", "Em …"). */
const ATTRIBUTION_START = /^\s*(On|Am|Le|El|Op|Il|Em)\s/i;
/** A client's attribution is one line, wrapped to at most three, and never this long. */
const MAX_ATTRIBUTION_CHARS = 400;
/** Outlook's separator, and the underscore rule its HTML mail becomes in text. */
const OUTLOOK_SEPARATOR = /^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$/i;
const OUTLOOK_RULE = /^\s*_{10,}\s*$/;
const HEADER_LINE = /^\s*(From|De|Von|Van|Da)\s*:/i;

const isQuoted = (line: string) => line.trimStart().startsWith('>');

function isAttribution(lines: string[]): boolean {
  const text = lines.join(' ');
  return (
    text.length <= MAX_ATTRIBUTION_CHARS &&
    ATTRIBUTION_START.test(lines[0]) &&
    /:\s*$/.test(text) &&
    ATTRIBUTION_VERB.test(text) &&
    // A date, a time or an address: "On my side it wrote:" is the customer's own sentence.
    /\d|@/.test(text)
  );
}

export function splitQuotedReply(text: string, isReply: boolean): { reply: string; quoted?: string } {
  if (!isReply) return { reply: text };
  const lines = text.split('\n');
  let cut = lines.length;

  const outlook = lines.findIndex((l, i) => OUTLOOK_SEPARATOR.test(l) || (OUTLOOK_RULE.test(l) && HEADER_LINE.test(lines[i + 1] ?? '')));
  if (outlook >= 0) cut = outlook;

  // A trailing run of quoted and blank lines, with at least one quoted line, below an attribution.
  let end = cut;
  let quotedLines = 0;
  while (end > 0 && (lines[end - 1].trim() === '' || isQuoted(lines[end - 1]))) {
    if (isQuoted(lines[end - 1])) quotedLines++;
    end--;
  }
  if (quotedLines > 0) {
    for (let n = 1; n <= 3 && end - n >= 0; n++) {
      if (isAttribution(lines.slice(end - n, end))) {
        cut = end - n;
        break;
      }
    }
  }

  const reply = lines.slice(0, cut).join('\n').trimEnd();
  // Nothing of the customer's own above the quote (a bare quote): keep the mail whole.
  if (cut >= lines.length || reply.trim() === '') return { reply: text };
  return { reply, quoted: lines.slice(cut).join('\n').trim() };
}
