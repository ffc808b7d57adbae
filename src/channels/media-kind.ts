/** What an inbox shows a file as, from its MIME type: played in place, or downloaded. */
export function mediaKind(contentType: string): 'image' | 'video' | 'audio' | 'document' {
  const type = contentType.toLowerCase();
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('video/')) return 'video';
  if (type.startsWith('audio/')) return 'audio';
  return 'document';
}
