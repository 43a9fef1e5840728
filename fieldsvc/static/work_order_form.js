// The work-order form: choosing an asset fills the required skills with those its
// product needs (the agent can still change them before saving).
(function () {
  var form = document.getElementById('work-order-form');
  if (!form) return;
  var skills = JSON.parse(form.getAttribute('data-skills-by-asset') || '{}');
  var asset = document.getElementById('asset_id');
  var field = document.getElementById('skills');
  if (!asset || !field) return;
  asset.addEventListener('change', function () {
    var known = skills[asset.value];
    if (known) field.value = known;
  });
})();
