import { useState, type ReactNode } from 'react';
import { ApiError, signIn } from '../api';
import { useSession } from '../session';

/**
 * Every button of the dashboard that changes something goes through this: it asks first (the
 * question, the consequences), and with credentials configured it needs the session's write
 * grant (docs/security.md, "The dashboard's sign-in"). A session that only reads is asked for
 * the secret access key again and signs in once more asking for writes, then acts.
 *
 * `children` are extra fields of the confirmation (a checkbox, an edit form); `act` does the
 * write and resolves when it is done; a failure is shown under the question and the person
 * may try again or cancel.
 */
export function Confirm({
  label,
  question,
  confirmLabel,
  act,
  danger,
  testId,
  children,
  open: startOpen = false,
  onCancel,
}: {
  /** the button that opens the confirmation */
  label: string;
  question: ReactNode;
  /** the button that acts (default: `label`) */
  confirmLabel?: string;
  act: () => Promise<void>;
  /** a button that stops or destroys work is drawn as such */
  danger?: boolean;
  testId?: string;
  children?: ReactNode;
  /** shown open at once (a form opened by another button) */
  open?: boolean;
  onCancel?: () => void;
}) {
  const { session, setSession } = useSession();
  const [step, setStep] = useState<'idle' | 'confirm' | 'busy'>(startOpen ? 'confirm' : 'idle');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string>();
  const needsWrites = session.authRequired && !session.writes;

  async function go() {
    setStep('busy');
    setError(undefined);
    try {
      if (needsWrites) setSession(await signIn(session.accessKeyId ?? '', secret, 'us-east-1', true));
      await act();
      setStep(startOpen ? 'confirm' : 'idle');
    } catch (e) {
      setStep('confirm');
      setError(e instanceof ApiError && e.status === 403 && needsWrites ? 'That secret is not accepted for this access key.' : (e as Error).message);
    }
  }

  const cancel = () => {
    setStep('idle');
    setError(undefined);
    onCancel?.();
  };

  if (step === 'idle') {
    return (
      <button type="button" className={danger ? 'danger' : undefined} onClick={() => setStep('confirm')} data-testid={testId}>
        {label}
      </button>
    );
  }
  return (
    <form
      className="confirm"
      data-testid={testId ? `${testId}-confirm` : undefined}
      onSubmit={(e) => {
        e.preventDefault();
        void go();
      }}
    >
      <div>{question}</div>
      {children}
      {needsWrites && (
        <label>
          This session only reads. To let this browser act, enter the secret access key of <span className="mono">{session.accessKeyId}</span> again
          <input type="password" autoComplete="current-password" value={secret} onChange={(e) => setSecret(e.target.value)} required aria-label="Secret access key" />
        </label>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="buttons">
        <button type="submit" className={danger ? 'danger' : undefined} disabled={step === 'busy'}>
          {needsWrites ? `Allow writes and ${(confirmLabel ?? label).toLowerCase()}` : (confirmLabel ?? label)}
        </button>
        <button type="button" onClick={cancel} disabled={step === 'busy'}>
          Cancel
        </button>
      </div>
    </form>
  );
}
