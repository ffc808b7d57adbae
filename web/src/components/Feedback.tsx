import type { ComponentChildren } from 'preact';

/** An error the user should read now (announced by screen readers), or nothing. */
export function ErrorLine({ children }: { children: ComponentChildren }) {
  if (children === null || children === undefined || children === false || children === '') return null;
  return (
    <p class="field-error" role="alert">
      {children}
    </p>
  );
}

/** The header cell of a table's actions column: empty to the eye, named for a screen reader. */
export function ActionsHeader() {
  return (
    <th>
      <span class="sr-only">Actions</span>
    </th>
  );
}

/** A form's Save button, and what saving said (announced as a status). */
export function SaveButton({ message }: { message: string | null }) {
  return (
    <>
      <button type="submit" class="button primary">
        Save
      </button>
      {message && (
        <span class="muted" role="status">
          {' '}
          {message}
        </span>
      )}
    </>
  );
}

/** "Are you sure?" in place, for a change that cannot be taken back: the question, a danger button, Cancel, and why it failed. */
export function ConfirmDialog(props: { label: string; confirm: string; onConfirm(): void; onCancel(): void; error: string | null; children: ComponentChildren }) {
  return (
    <div class="confirm" role="alertdialog" aria-label={props.label}>
      <p>{props.children}</p>
      <button type="button" class="button danger" onClick={props.onConfirm}>
        {props.confirm}
      </button>{' '}
      <button type="button" class="button secondary" onClick={props.onCancel}>
        Cancel
      </button>
      <ErrorLine>{props.error}</ErrorLine>
    </div>
  );
}
