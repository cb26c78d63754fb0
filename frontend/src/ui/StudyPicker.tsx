import { db, signOut, useLive, type Auth } from '../app/store';
import { allOf, type Study } from '../app/domain';
import { go } from '../app/router';

const ROLE: Record<string, string> = { pi: 'Principal investigator', fieldworker: 'Fieldworker', analyst: 'Analyst' };

export function StudyPicker({ auth }: { auth: Auth }) {
  const studies = useLive(() => allOf<Study>('study'), [], []);
  const choose = async (id: string): Promise<void> => {
    await db.meta.put({ key: 'study_id', value: id });
    go({ name: 'meetings' });
  };
  return (
    <section class="page narrow">
      <h1>Choose a study</h1>
      <p class="muted">Signed in as {auth.user.display_name || auth.user.email}. The app remembers your choice.</p>
      {auth.user.memberships.length === 0 && <p class="card">You are not a member of any study yet. Ask the study's PI to add you.</p>}
      <ul class="list">
        {auth.user.memberships.map((m) => {
          const s = studies.find((x) => x.id === m.study_id);
          return (
            <li key={m.study_id}>
              <button type="button" class="row-button" onClick={() => void choose(m.study_id)}>
                <span class="title">{s?.name ?? 'Study (downloading…)'}</span>
                <span class="muted">{ROLE[m.role] ?? m.role}</span>
              </button>
            </li>
          );
        })}
      </ul>
      <button type="button" class="btn" onClick={() => void signOut()}>Sign out</button>
    </section>
  );
}
