// Fields marked data-select-on-focus are selected whole when focused (a link to copy).
// A file, not an onfocus attribute: the Content-Security-Policy runs no inline script.
document.querySelectorAll('[data-select-on-focus]').forEach(function (field) {
  field.addEventListener('focus', function () { field.select(); });
});
