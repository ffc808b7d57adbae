/**
 * A customer's answer usually carries the whole thread below it ("On Tue, … wrote:" and the
 * quoted mail, or Outlook's "-----Original Message-----" and the old mail unquoted), which the
 * agent already has in the conversation. Only a trailing block is cut: text after a quote
 * (an answer written between the quoted lines) keeps the whole mail as it is, and so does a
 * mail that is nothing but quote (a forward). What is cut is kept beside the message.
 */

/** Attribution lines mail clients write above the quote (Gmail, Apple Mail, Thunderbird, Outlook on the web; en, de, fr, es, nl, it, pt). */
const ATTRIBUTION = /\b(wrote|schrieb|a écrit|escribió|schreef|ha scritto|escreveu)\b.*:\s*$/i;
/** How those attributions begin ("On …", "Am …", "Le …", "El …", "Op …", "Il …", "Em …"). */
const ATTRIBUTION_START = /^\s*(On|Am|Le|El|Op|Il|Em)\s/i;
/** Outlook's separator, and the underscore rule its HTML mail becomes in text. */
const OUTLOOK_SEPARATOR = /^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$/i;
const OUTLOOK_RULE = /^\s*_{10,}\s*$/;
const HEADER_LINE = /^\s*(From|De|Von|Van|Da)\s*:/i;

export function splitQuotedReply(text: string): { reply: string; quoted?: string } {
  const lines = text.split('\n');
  let cut = lines.length;

  // Outlook: everything from the separator on (the old mail follows unquoted, headers first).
  const outlook = lines.findIndex((l, i) => OUTLOOK_SEPARATOR.test(l) || (OUTLOOK_RULE.test(l) && HEADER_LINE.test(lines[i + 1] ?? '')));
  if (outlook >= 0) cut = outlook;

  // A trailing run of quoted (">") and blank lines, with at least one quoted line, below an attribution.
  let end = cut;
  let quotedLines = 0;
  while (end > 0 && (lines[end - 1].trim() === '' || lines[end - 1].trimStart().startsWith('>'))) {
    if (lines[end - 1].trimStart().startsWith('>')) quotedLines++;
    end--;
  }
  if (quotedLines > 0) {
    // Only with the attribution above it: a customer may well start their own lines with ">".
    // Clients wrap a long one ("On Tue, 1 Dec 2026 at 10:00, Ann Lee <ann@…>\nwrote:"): up to three lines.
    for (let n = 1; n <= 3 && end - n >= 0; n++) {
      if (ATTRIBUTION_START.test(lines[end - n]) && ATTRIBUTION.test(lines.slice(end - n, end).join(' '))) {
        cut = end - n;
        break;
      }
    }
    if (cut === lines.length && end > 0 && ATTRIBUTION.test(lines[end - 1])) cut = end - 1;
  }

  const reply = lines.slice(0, cut).join('\n').trimEnd();
  // Nothing of the customer's own above the quote (a forward, a bare quote): keep the mail whole.
  if (cut >= lines.length || reply.trim() === '') return { reply: text };
  return { reply, quoted: lines.slice(cut).join('\n').trim() };
}
