import { useState } from 'preact/hooks';
import { useLive } from '../app/store';
import { children, createMeeting, LEVELS, type Level, type Site } from '../app/domain';
import { go } from '../app/router';
import { levelLabel } from './Meetings';

function localNow(): string {
  const d = new Date();
  d.setSeconds(0, 0);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

export function MeetingNew({ studyId }: { studyId: string }) {
  const sites = useLive(() => children<Site>('site', studyId), [studyId], []);
  const [siteId, setSiteId] = useState('');
  const [level, setLevel] = useState<Level | ''>('');
  const [title, setTitle] = useState('');
  const [theme, setTheme] = useState('');
  const [stage, setStage] = useState<'' | 'strategy' | 'delivery'>('');
  const [start, setStart] = useState(localNow);
  const [location, setLocation] = useState('');
  const [error, setError] = useState<string | null>(null);
  const sorted = [...sites].sort((a, b) => a.code.localeCompare(b.code));
  const chosenSite = siteId || (sorted.length === 1 ? sorted[0]!.id : '');

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!chosenSite) return setError('Choose the site this meeting belongs to.');
    if (!level) return setError('Choose the meeting level.');
    if (!title.trim()) return setError('Give the meeting a title.');
    const id = await createMeeting({
      study_id: studyId, site_id: chosenSite, level, title: title.trim(), theme: theme.trim(),
      scheduled_start: start ? new Date(start).toISOString() : null, location: location.trim(),
      stage_of_change: stage || null,
    });
    go({ name: 'meeting', id });
  };

  return (
    <section class="page narrow">
      <h1>New meeting</h1>
      <form class="card form" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Site</legend>
          <div class="segmented">
            {sorted.map((s) => (
              <label key={s.id} class={chosenSite === s.id ? 'on' : ''}>
                <input type="radio" name="site" value={s.id} checked={chosenSite === s.id} onChange={() => setSiteId(s.id)} />
                {s.code} · {s.name}
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>Level</legend>
          <div class="segmented">
            {LEVELS.map((l) => (
              <label key={l} class={level === l ? 'on' : ''}>
                <input type="radio" name="level" value={l} checked={level === l} onChange={() => setLevel(l)} />
                {levelLabel(l)}
              </label>
            ))}
          </div>
        </fieldset>
        <label>Title<input name="title" required value={title} onInput={(e) => setTitle(e.currentTarget.value)} placeholder="e.g. STP board" /></label>
        <label>Theme<input name="theme" value={theme} onInput={(e) => setTheme(e.currentTarget.value)} placeholder="e.g. urgent care, maternity" /></label>
        <fieldset>
          <legend>Stage of change</legend>
          <div class="segmented">
            {([['', 'Not sure'], ['strategy', 'Early strategy setting'], ['delivery', 'Collaborative delivery']] as const).map(([v, label]) => (
              <label key={v} class={stage === v ? 'on' : ''}>
                <input type="radio" name="stage" value={v} checked={stage === v} onChange={() => setStage(v)} />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <div class="two">
          <label>Starts<input type="datetime-local" name="start" value={start} onInput={(e) => setStart(e.currentTarget.value)} /></label>
          <label>Location<input name="location" value={location} onInput={(e) => setLocation(e.currentTarget.value)} /></label>
        </div>
        {error && <p class="error" role="alert">{error}</p>}
        <div class="actions">
          <a class="btn" href="#/meetings">Cancel</a>
          <button type="submit" class="btn primary">Save meeting</button>
        </div>
      </form>
    </section>
  );
}
