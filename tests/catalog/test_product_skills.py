"""What a job on a product needs (the skills the agent's work-order form fills in): the
skills the product declares; without them, the skills of the latest job on a unit of that
product, else those of its recall campaigns."""

from __future__ import annotations

from fieldsvc.recall.models import RecallCampaign, RecallCampaignProduct
from fieldsvc.services.catalog import product_skills


def test_latest_job_on_the_product_gives_its_skills_with_levels(make):
    hvac, electrical = make.skill("hvac"), make.skill("electrical")
    chiller, printer = make.product(), make.product()
    site = make.site()
    older = make.work_order(site, asset_id=make.asset(site=site, product=chiller).id)
    make.work_order_skill(older, electrical, 4)
    newer = make.work_order(site, asset_id=make.asset(site=site, product=chiller).id)
    make.work_order_skill(newer, hvac, 3)
    make.work_order_skill(newer, electrical, 1)
    make.work_order(site, asset_id=make.asset(site=site, product=chiller).id)  # no skills
    assert product_skills(make.session, chiller.id) == [("electrical", 1), ("hvac", 3)]
    assert product_skills(make.session, printer.id) == []


def test_without_jobs_the_recall_campaigns_of_the_product_give_their_skill(make):
    brakes = make.skill("brakes")
    car = make.product(kind="car")
    campaign = RecallCampaign(code="RC-1", title="Brake hose", skill_id=brakes.id)
    make.session.add(campaign)
    make.session.flush()
    make.session.add(RecallCampaignProduct(campaign_id=campaign.id, product_id=car.id))
    make.session.commit()
    assert product_skills(make.session, car.id) == [("brakes", 1)]


def test_declared_skills_come_first_and_the_guess_only_without_them(make):
    hvac, electrical, brakes = make.skill("hvac"), make.skill("electrical"), make.skill("brakes")
    chiller, fresh = make.product(), make.product()
    site = make.site()
    job = make.work_order(site, asset_id=make.asset(site=site, product=chiller).id)
    make.work_order_skill(job, brakes, 2)
    assert product_skills(make.session, chiller.id) == [("brakes", 2)]
    make.product_skill(chiller, hvac, 4)
    make.product_skill(chiller, electrical, 2)
    assert product_skills(make.session, chiller.id) == [("electrical", 2), ("hvac", 4)]
    # A new product with no history answers what it declares.
    assert product_skills(make.session, fresh.id) == []
    make.product_skill(fresh, hvac, 1)
    assert product_skills(make.session, fresh.id) == [("hvac", 1)]


def test_several_products_at_once_answer_as_each_one_alone(make):
    """The customer screen's forms ask for all of a customer's products in one go."""
    from fieldsvc.services.catalog import products_skills

    hvac, brakes = make.skill("hvac"), make.skill("brakes")
    declared, guessed, unknown = make.product(), make.product(), make.product()
    make.product_skill(declared, hvac, 3)
    site = make.site()
    job = make.work_order(site, asset_id=make.asset(site=site, product=guessed).id)
    make.work_order_skill(job, brakes, 2)
    ids = [declared.id, guessed.id, unknown.id, declared.id]
    assert products_skills(make.session, ids) == {
        p: product_skills(make.session, p) for p in ids}
    assert products_skills(make.session, ids)[guessed.id] == [("brakes", 2)]
