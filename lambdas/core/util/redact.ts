/**
 * Removes credentials from any URL in a piece of text, so that no message, log line or JSON error
 * ever carries a password, whatever the command or the place the URL was given (a database URL
 * passed where a location belongs, an endpoint with user info, a pre-signed query).
 *
 * The password part of `scheme://user:password@host` is replaced up to the LAST `@` of the URL-like
 * token: a password with an unescaped `@`, `#`, `/` or `?` would otherwise leak its tail as a "host".
 * Over-redacting a path that contains `@` is harmless; printing a secret is not.
 */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s'"<>`]+)/gi;
const SECRET_PARAMS = /([?&;](?:password|passwd|pwd|secret|token|access_token|apikey|api_key|key|sslpassword|x-amz-signature|x-amz-credential|x-amz-security-token|signature)=)[^&\s'"#]*/gi;

export const REDACTED = '***';

function redactToken(scheme: string, rest: string): string {
  let out = rest;
  const at = out.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = out.slice(0, at);
    const colon = userinfo.indexOf(':');
    // `user@host` has no password; `user:secret@host` keeps only the user name.
    if (colon !== -1) out = `${userinfo.slice(0, colon)}:${REDACTED}${out.slice(at)}`;
  }
  return scheme + out.replace(SECRET_PARAMS, `$1${REDACTED}`);
}

/** `text` with the password of every URL (and secret query parameters) replaced by `***`. */
export function redactCredentials(text: string): string {
  if (!text.includes('://') && !/[?&;][a-z_-]+=/i.test(text)) return text;
  return text.replace(URL_TOKEN, (_match, scheme: string, rest: string) => redactToken(scheme, rest)).replace(SECRET_PARAMS, `$1${REDACTED}`);
}
