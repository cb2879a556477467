// Sign in with a token (baton token create): POST /login keeps it in an HttpOnly cookie.
import { ApiError, request } from '../api.js';
import { h } from '../dom.js';

/**
 * @param {HTMLElement} main
 * @param {{ signal: AbortSignal, onSignedIn: () => void }} options
 */
export function signInPage(main, { signal, onSignedIn }) {
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true })
  );
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const field = h('div', { class: 'field' }, h('label', { for: 'token' }, 'Token'), input);

  /** @param {string} message */
  const showError = (message) => {
    field.querySelector('#error-token')?.remove();
    field.append(h('p', { id: 'error-token', class: 'field-error', role: 'alert' }, message));
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'error-token');
    input.focus();
  };

  /** @param {SubmitEvent} event */
  const submit = async (event) => {
    event.preventDefault();
    button.setAttribute('disabled', '');
    try {
      await request('POST', '/login', { body: { token: input.value } });
      if (!signal.aborted) onSignedIn();
    } catch (error) {
      if (!signal.aborted) showError(error instanceof ApiError ? error.problem.detail : String(error));
    } finally {
      button.removeAttribute('disabled');
    }
  };

  main.append(
    h('h1', { tabindex: -1 }, 'Sign in'),
    h(
      'p',
      null,
      'Sign in with a token of this installation. An admin creates one with ',
      h('code', null, 'baton token create <name>'),
      '.',
    ),
    h('form', { class: 'sign-in', onsubmit: submit }, field, h('div', { class: 'actions' }, button)),
  );
  input.focus();
}
