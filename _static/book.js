// Printing is always light: the theme's dark colours would give black pages.
(() => {
  let before = null;
  const light = () => {
    if (document.documentElement.dataset.theme === "dark") {
      before = "dark";
      document.documentElement.dataset.theme = "light";
    }
  };
  const restore = () => {
    if (before) document.documentElement.dataset.theme = before;
    before = null;
  };
  window.addEventListener("beforeprint", light);
  window.addEventListener("afterprint", restore);
})();
