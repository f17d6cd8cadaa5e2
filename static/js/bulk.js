// The task page's bulk bar: show only the fields of the chosen action (every field shows without JS).
document.addEventListener("DOMContentLoaded", () => {
  const action = document.getElementById("bulk-action");
  if (!action) return;
  const fields = action.form.querySelectorAll("[data-for]");
  const sync = () => {
    fields.forEach((label) => {
      const wanted = label.dataset.for.split(" ").includes(action.value);
      label.hidden = !wanted;
      label.querySelectorAll("input, select").forEach((el) => { el.disabled = !wanted; });
    });
  };
  action.addEventListener("change", sync);
  sync();
});
