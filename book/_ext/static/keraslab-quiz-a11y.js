// Keyboard and screen-reader fixes for jupyterquiz's questions, which it builds in the page at
// run time (so the fix runs in the page too; see book/_ext/keraslab_book.py):
// - the numeric answer box gets its label (jupyterquiz writes the label with no `for`);
// - Enter on a multiple-choice answer chooses it, as Space does.
(() => {
  function labelNumericBoxes(root) {
    root.querySelectorAll('.Quiz .InpLabel:not([for])').forEach((label) => {
      const box = label.parentElement.querySelector('input.Input-text');
      if (box && box.id) label.htmlFor = box.id;
    });
  }
  document.addEventListener('keydown', (event) => {
    const answer = event.target.closest && event.target.closest('.Quiz label.MCButton input');
    if (answer && event.key === 'Enter') {
      event.preventDefault();
      answer.click();
    }
  });
  function start() {
    labelNumericBoxes(document);
    new MutationObserver(() => labelNumericBoxes(document))
      .observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
