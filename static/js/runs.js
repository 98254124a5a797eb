// Run list: the compare button sends the ticked runs as ?runs=1,2,3 (what the compare page reads).
(function () {
  var form = document.getElementById("compare-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    var ids = Array.prototype.map.call(form.querySelectorAll(".compare-pick:checked"), function (box) {
      return box.value;
    });
    if (ids.length < 1) {
      event.preventDefault();
      return;
    }
    document.getElementById("compare-ids").value = ids.join(",");
  });
})();
