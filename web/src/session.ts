/**
 * The signed-in session, for the pages that act on it: a write button asks whether the
 * session may write and, when it may not, signs in again asking for writes (api.signIn).
 */
import { createContext, useContext } from 'react';
import type { Session } from './api';

export interface SessionState {
  session: Session;
  setSession(s: Session): void;
}

export const SessionContext = createContext<SessionState>({
  session: { authRequired: false, accessKeyId: null, writes: true },
  setSession: () => {},
});

export const useSession = (): SessionState => useContext(SessionContext);
