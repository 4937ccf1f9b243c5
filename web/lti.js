// lti.js: sends the Deep Linking answer back to the LMS as soon as the page
// loads (the form's button does the same without script).
document.addEventListener("DOMContentLoaded", function () {
  var f = document.getElementById("lti-return");
  if (f) f.submit();
});
