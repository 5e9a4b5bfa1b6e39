// Sign-in: paste a token (minted with `gridctl token issue`); the console checks it with the
// gateway and keeps it in an HttpOnly cookie. The address `deploy/local/up` prints signs in with a
// one-time code instead and lands here only when the code was refused (?error=code).

import { ApiError } from '../api/client';
import type { Context, View } from '../context';
import { h } from '../lib/dom';
import { t } from '../lib/i18n';

export function mountSignIn(context: Context, error: string, onSignedIn: () => void): View {
  const token = h('textarea', {
    name: 'token',
    rows: 5,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'eyJhbGciOi…',
    'aria-label': t('signin.hint'),
  });
  const message = h('p', { class: 'outcome refused', role: 'alert' });
  if (error !== '') {
    message.textContent = `${t('signin.failed')}: ${error === 'code' ? 'one-time code unknown, used or expired' : error}`;
  }
  const submit = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h(
    'form',
    { class: 'signin panel' },
    h('h1', {}, t('signin.title')),
    h('label', {}, t('signin.hint'), token),
    submit,
    message,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    context.api
      .signIn(token.value.trim())
      .then((session) => {
        context.api.setCsrf(session.csrf_token ?? '');
        context.store.setSession(session);
        onSignedIn();
      })
      .catch((failure: unknown) => {
        message.textContent = `${t('signin.failed')}: ${
          failure instanceof ApiError ? `${failure.code}: ${failure.message}` : String(failure)
        }`;
      })
      .finally(() => {
        submit.disabled = false;
      });
  });
  return { element: h('div', { class: 'signin-page' }, form), destroy: () => undefined };
}
