"""fieldsvc import KIND FILE: all or nothing, every bad row reported by line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fieldsvc.extensions import db
from fieldsvc.models import (
    Asset,
    AuditEntry,
    Customer,
    Part,
    Shift,
    Site,
    Technician,
    TechnicianSkill,
    Warehouse,
)
from fieldsvc.recall.models import CampaignVin, RecallCampaign
from fieldsvc.vin import with_check_digit


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def write(tmp_path, text: str | bytes, name: str = "data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def run(runner, *args):
    return runner.invoke(args=["import", *map(str, args)])


def test_customers_with_bom_and_sites_are_imported(app, runner, tmp_path):
    csv_text = ("\ufeffName,Email,Mobile,Phone,Tier,Consent_Marketing,site_name,address,"
                "city,territory,latitude,longitude\n"
                "Pars Trading,info@pars.ir,0912 111 2233,021-8877 6655,loyal,yes,HQ,"
                "\"No. 5, Valiasr St.\",Tehran,tehran,35.75,51.41\n"
                "Sara Ahmadi,,+98 935 444 5566,,,,,,,,,\n")
    result = run(runner, "customers", write(tmp_path, csv_text))
    assert result.exit_code == 0, result.output
    assert "Imported 2 customers (1 with a site)" in result.output
    with app.app_context():
        pars = db.session.scalars(select(Customer).where(Customer.name == "Pars Trading")).one()
        assert pars.tier.value == "loyal" and pars.consent_marketing and pars.consent_at
        assert pars.mobile_key == "9121112233"
        site = db.session.scalars(select(Site)).one()
        assert (site.customer_id, site.name, site.latitude) == (pars.id, "HQ", 35.75)
        assert db.session.scalar(select(AuditEntry.action).where(
            AuditEntry.entity_type == "customer")) == "import"


def test_bad_rows_are_each_reported_and_nothing_is_written(app, runner, make, tmp_path):
    make.customer(name="Existing", email="taken@x.ir", mobile="09120000001")
    csv_text = ("name,email,mobile,tier,latitude,longitude\n"
                "Good One,good@x.ir,09121234567,,,\n"
                "Bad Email,not-an-email,09121234568,,,\n"
                ",nameless@x.ir,,,,\n"
                "Bad Tier,tier@x.ir,,gold,95,51\n"
                "Taken,TAKEN@x.ir,+98 912 000 0001,,,\n"
                "Twin,good@x.ir,09121234567,,,\n")
    result = run(runner, "customers", write(tmp_path, csv_text))
    assert result.exit_code == 1
    out = result.output
    assert "5 bad row(s); nothing was imported" in out
    assert "line 3: email: Not a valid email address." in out
    assert "line 4: name:" in out
    assert "line 5: tier:" in out and "line 5: latitude:" in out
    assert "line 6: email: A customer with this email already exists." in out
    assert "line 6: mobile: A customer with this number already exists." in out
    assert "line 7: email: Duplicate email 'good@x.ir': already on line 2." in out
    assert "line 7: mobile: Duplicate number" in out
    assert "line 2:" not in out
    assert count(app, Customer) == 1 and count(app, Site) == 0


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty"),
    (b"name,email\n", "header but no data rows"),
    (b"email,mobile\nx@y.ir,0912\n", "Missing column(s): name."),
    (b"name,colour\nAcme,red\n", "Unknown column(s): 'colour'"),
    (b"name,name\nAcme,Acme\n", "Repeated column(s): name."),
    ("name\nCaf\u00e9\n".encode("latin-1"), "not UTF-8 (byte 0xe9 on line 2)"),
])
def test_unusable_files_are_refused_whole(app, runner, tmp_path, content, message):
    result = run(runner, "customers", write(tmp_path, content))
    assert result.exit_code == 1
    assert message in result.output
    assert count(app, Customer) == 0


def test_row_with_wrong_number_of_cells_is_reported(app, runner, tmp_path):
    result = run(runner, "customers",
                 write(tmp_path, "name,email\nA,a@x.ir\nB,b@x.ir,extra\n\nC\n"))
    assert result.exit_code == 1
    assert "line 3: row: Has 3 cells; the header has 2." in result.output
    assert "line 5: row: Has 1 cells" in result.output
    assert count(app, Customer) == 0


def test_assets_resolve_customer_product_and_site_by_natural_keys(app, runner, make,
                                                                 tmp_path):
    acme = make.customer(name="Acme", email="it@acme.ir", mobile="0912 555 0000")
    make.site(acme, name="Head office")
    make.site(acme, name="Warehouse")
    solo = make.customer(name="Solo", phone="021-2222 3333")
    solo_site = make.site(solo, name="Home")
    make.product(code="HP-M404DN", warranty_months=12)
    make.product(code="IKCO-DENA", kind="car")
    vin = with_check_digit("NAAD1B5D0RT123456")
    csv_text = ("product_code,customer_email,customer_phone,site_name,serial_number,vin,"
                "install_date\n"
                "HP-M404DN,IT@acme.ir,,warehouse,PHB1234567,,2025-03-10\n"
                f"IKCO-DENA,,+98 21 2222 3333,,,{vin.lower()},\n")
    result = run(runner, "assets", write(tmp_path, csv_text))
    assert result.exit_code == 0, result.output
    with app.app_context():
        printer = db.session.scalars(select(Asset).where(Asset.serial_number.is_not(None))).one()
        assert printer.customer_id == acme.id and printer.site.name == "Warehouse"
        assert printer.warranty_end.isoformat() == "2026-03-10"
        car = db.session.scalars(select(Asset).where(Asset.vin == vin)).one()
        assert (car.customer_id, car.site_id) == (solo.id, solo_site.id)


def test_bad_asset_rows_are_reported(app, runner, make, tmp_path):
    acme = make.customer(name="Acme", email="it@acme.ir")
    make.customer(name="Twin A", mobile="09127770000")
    make.customer(name="Twin B", phone="+98 912 777 0000")
    make.product(code="HP-M404DN")
    make.asset(customer=acme, serial_number="EXISTING1")
    csv_text = ("product_code,customer_email,customer_phone,customer_id,serial_number,vin,"
                "install_date,warranty_end\n"
                "NOPE,it@acme.ir,,,S1,,,\n"
                "HP-M404DN,ghost@x.ir,,,S2,,,\n"
                "HP-M404DN,,09127770000,,S3,,,\n"
                "HP-M404DN,,,99999,S4,,,\n"
                "HP-M404DN,it@acme.ir,,,EXISTING1,,,\n"
                "HP-M404DN,it@acme.ir,,,S6,ABC,,\n"
                "HP-M404DN,it@acme.ir,,,,,,\n"
                "HP-M404DN,it@acme.ir,,,S8,,2025-05-01,2025-01-01\n"
                "HP-M404DN,it@acme.ir,,,S9,,,\n"
                "HP-M404DN,it@acme.ir,,,S9,,,\n")
    result = run(runner, "assets", write(tmp_path, csv_text))
    assert result.exit_code == 1
    out = result.output
    assert "line 2: product_code: No product 'NOPE'." in out
    assert "line 3: customer_email: No customer has this value." in out
    assert "line 4: customer_phone: Several customers match" in out
    assert "line 5: customer_id: No customer with id 99999." in out
    assert "line 6: serial_number: An asset with serial_number EXISTING1 already exists." in out
    assert "line 7: vin:" in out
    assert "line 8: serial_number: Give a serial_number or a vin." in out
    assert "line 9: warranty_end: Must not be before install_date." in out
    assert "line 11: serial_number: Duplicate serial_number 'S9': already on line 10." in out
    assert "line 10:" not in out
    assert count(app, Asset) == 1


def test_technicians_with_skills_shifts_and_vans(app, runner, make, tmp_path):
    make.skill("printer-laser")
    make.skill("network")
    csv_text = ("code,name,home_latitude,home_longitude,territory,skills,shifts\n"
                "T-100,Reza Karimi,35.7,51.4,tehran,printer-laser:4;network:2,\n"
                "T-101,Mina Nouri,32.65,51.67,isfahan,,0123@09:00-18:00\n")
    result = run(runner, "technicians", write(tmp_path, csv_text))
    assert result.exit_code == 0, result.output
    with app.app_context():
        reza = db.session.scalars(select(Technician).where(Technician.code == "T-100")).one()
        assert {(s.skill.code, s.level) for s in reza.skills} == {("printer-laser", 4),
                                                                  ("network", 2)}
        assert {s.weekday for s in reza.shifts} == {5, 6, 0, 1, 2, 3}
        assert reza.van.code == "VAN-T-100"
        mina = db.session.scalars(select(Technician).where(Technician.code == "T-101")).one()
        assert [s.weekday for s in mina.shifts] == [0, 1, 2, 3]


def test_bad_technician_rows_change_nothing(app, runner, make, tmp_path):
    make.skill("network")
    make.technician(code="T-1")
    before = count(app, Warehouse)
    csv_text = ("code,name,home_latitude,home_longitude,skills,shifts\n"
                "T-1,Taken,35.7,51.4,,\n"
                "T-2,Bad skill,35.7,51.4,hvac:2;network:9,\n"
                "T-3,Bad shift,35.7,51.4,,56@17:00-08:00;9@08:00-12:00\n"
                "T-4,Far away,135.7,51.4,,\n"
                "T-5,Fine,35.7,51.4,network:3,\n"
                "t-5,Twin,35.7,51.4,,\n")
    result = run(runner, "technicians", write(tmp_path, csv_text))
    assert result.exit_code == 1
    out = result.output
    assert "line 2: code: A technician with code T-1 already exists." in out
    assert "line 3: skills: Unknown skill 'hvac'." in out
    assert "line 3: skills: Level of 'network' must be a whole number from 1 to 5." in out
    assert "line 4: shifts:" in out and "end must be after the start" in out
    assert "line 5: home_latitude:" in out
    assert "line 7: code: Duplicate code 't-5': already on line 6." in out
    assert count(app, Technician) == 1 and count(app, TechnicianSkill) == 0
    assert count(app, Warehouse) == before and count(app, Shift) == 7


def test_parts_good_and_bad(app, runner, make, tmp_path):
    make.part(sku="OLD-1")
    good = run(runner, "parts", write(tmp_path, "sku,name,unit_cost,serialized\n"
                                      "TN-1,Toner,89.50,false\nPSU-1,Power supply,,true\n"))
    assert good.exit_code == 0, good.output
    bad = run(runner, "parts", write(tmp_path, "sku,name,unit_cost\nOLD-1,Again,1\n"
                                     "X-1,,abc\nX-2,Neg,-4\nX-3,A,1\nX-3,B,2\n", "bad.csv"))
    assert bad.exit_code == 1
    assert "line 2: sku: A part with sku OLD-1 exists." in bad.output
    assert "line 3: name:" in bad.output and "line 3: unit_cost:" in bad.output
    assert "line 4: unit_cost:" in bad.output
    assert "line 6: sku: Duplicate sku 'X-3': already on line 5." in bad.output
    with app.app_context():
        assert sorted(db.session.scalars(select(Part.sku))) == ["OLD-1", "PSU-1", "TN-1"]


def test_vins_of_a_campaign_are_matched_to_assets(app, runner, make, tmp_path):
    with app.app_context():
        db.session.add(RecallCampaign(code="RC-1", title="Relay"))
        db.session.commit()
    car = make.asset(product=make.product(kind="car"), vin=with_check_digit("NAAD1B5D0RT000001"))
    vins = [with_check_digit(f"NAAD1B5D0RT{n:06d}") for n in range(1, 1001)]
    result = run(runner, "vins", write(tmp_path, "VIN\n" + "\n".join(vins) + "\n"),
                 "--campaign", "RC-1")
    assert result.exit_code == 0, result.output
    assert "1000 VINs (1 matched to known assets)" in result.output
    with app.app_context():
        assert db.session.scalar(select(CampaignVin.asset_id).where(
            CampaignVin.vin == car.vin)) == car.id
    again = run(runner, "vins", write(tmp_path, f"vin\n{vins[0]}\nNOT-A-VIN\nAAAAAAAAAAAAAAAA1\n"
                                      "aaaaaaaaaaaaaaaa1\n", "again.csv"), "--campaign", "RC-1")
    assert again.exit_code == 1
    assert "line 2: vin:" in again.output and "already listed in the campaign" in again.output
    assert "line 3: vin: 'NOT-A-VIN' is not a VIN" in again.output
    assert "line 5: vin: Duplicate VIN" in again.output
    assert count(app, CampaignVin) == 1000


def test_vins_need_an_existing_campaign(app, runner, tmp_path):
    path = write(tmp_path, "vin\n" + with_check_digit("NAAD1B5D0RT000001") + "\n")
    missing_option = run(runner, "vins", path)
    assert missing_option.exit_code == 2 and "--campaign" in missing_option.output
    unknown = run(runner, "vins", path, "--campaign", "NOPE")
    assert unknown.exit_code == 1 and "No recall campaign with code 'NOPE'" in unknown.output
    assert count(app, CampaignVin) == 0
