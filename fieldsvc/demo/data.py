"""Fixed tables the demo generator draws from: places, names, catalog, dealerships.

Nothing here is random; `fieldsvc.demo.generator` combines these tables with a seeded
random generator. Coordinates are real (WGS 84): city centres and well-known districts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class City:
    key: str          # the territory code: technicians and sites use it
    name: str
    region: str       # the province: customers, dealerships, campaign phases use it
    area_code: str    # landline prefix
    latitude: float
    longitude: float
    weight: float     # share of customers
    technicians: int
    districts: tuple[District, ...]


CITIES: tuple[City, ...] = (
    City("tehran", "Tehran", "Tehran", "021", 35.6892, 51.3890, 0.50, 22, (
        District("Tajrish", 35.8050, 51.4260),
        District("Niavaran", 35.8130, 51.4700),
        District("Vanak", 35.7575, 51.4100),
        District("Saadat Abad", 35.7800, 51.3700),
        District("Shahrak-e Gharb", 35.7590, 51.3680),
        District("Punak", 35.7620, 51.3320),
        District("Jannat Abad", 35.7520, 51.3040),
        District("Yusef Abad", 35.7290, 51.4050),
        District("Abbas Abad", 35.7300, 51.4300),
        District("Narmak", 35.7450, 51.5050),
        District("Tehranpars", 35.7380, 51.5400),
        District("Piroozi", 35.6920, 51.4800),
        District("Enghelab", 35.7010, 51.3910),
        District("Azadi", 35.6995, 51.3380),
        District("Navvab", 35.6700, 51.3800),
    )),
    City("karaj", "Karaj", "Alborz", "026", 35.8400, 50.9391, 0.15, 8, (
        District("Gohardasht", 35.8300, 50.9500),
        District("Mehrshahr", 35.8160, 50.8970),
        District("Azimieh", 35.8450, 51.0000),
        District("Golshahr", 35.8200, 50.9190),
        District("Jahanshahr", 35.8220, 50.9850),
        District("Fardis", 35.7240, 50.9850),
    )),
    City("isfahan", "Isfahan", "Isfahan", "031", 32.6546, 51.6680, 0.20, 10, (
        District("Naqsh-e Jahan", 32.6575, 51.6778),
        District("Chaharbagh", 32.6500, 51.6700),
        District("Jolfa", 32.6380, 51.6560),
        District("Mardavij", 32.6160, 51.6650),
        District("Kaveh", 32.6870, 51.6670),
        District("Sepahan Shahr", 32.5820, 51.6460),
    )),
    City("shiraz", "Shiraz", "Fars", "071", 29.5918, 52.5837, 0.15, 8, (
        District("Eram", 29.6360, 52.5250),
        District("Maali Abad", 29.6420, 52.4970),
        District("Ghasrodasht", 29.6250, 52.5100),
        District("Vakil", 29.6150, 52.5430),
        District("Atlasi", 29.6080, 52.5650),
        District("Chamran", 29.6500, 52.4900),
    )),
)

CAPITAL_REGION = "Tehran"

FIRST_NAMES = (
    "Ali", "Reza", "Mohammad", "Hossein", "Mehdi", "Amir", "Saeed", "Hamid", "Behnam",
    "Kourosh", "Dariush", "Arash", "Babak", "Farhad", "Kaveh", "Majid", "Navid", "Omid",
    "Pouya", "Sina", "Vahid", "Yousef", "Mostafa", "Javad", "Ehsan", "Parviz", "Bahram",
    "Maryam", "Fatemeh", "Zahra", "Sara", "Narges", "Leila", "Mina", "Shirin", "Parisa",
    "Neda", "Elham", "Azadeh", "Roya", "Niloufar", "Samira", "Mahsa", "Anahita", "Golnaz",
)
LAST_NAMES = (
    "Ahmadi", "Mohammadi", "Hosseini", "Rezaei", "Karimi", "Moradi", "Jafari", "Rahimi",
    "Hashemi", "Ghasemi", "Sadeghi", "Kazemi", "Mousavi", "Azizi", "Ebrahimi", "Rostami",
    "Tehrani", "Esfahani", "Shirazi", "Karaji", "Farahani", "Bagheri", "Nouri", "Zamani",
    "Salehi", "Tavakoli", "Najafi", "Amini", "Soltani", "Akbari", "Daneshvar", "Mirzaei",
    "Kamali", "Sharifi", "Abbasi", "Ghorbani", "Heidari", "Yazdani", "Kermani", "Rahmani",
)
COMPANY_STEMS = (
    "Pars", "Aria", "Sepehr", "Kavir", "Alborz", "Zagros", "Damavand", "Persepolis",
    "Tous", "Mehr", "Navid", "Arman", "Behsaz", "Pouya", "Rayan", "Farda", "Sina",
    "Kian", "Atlas", "Setareh", "Nik", "Roshan", "Pishro", "Taban", "Azar", "Simorgh",
)
COMPANY_KINDS = (
    "Trading", "Engineering", "Printing House", "Hospital", "Insurance", "Bank Branch",
    "Logistics", "Pharmaceuticals", "University Faculty", "Law Firm", "Architects",
    "Software", "Clinic", "Hotel", "Textiles", "Steel", "Foods", "Telecom",
)
STREETS = (
    "Valiasr St.", "Enghelab St.", "Azadi St.", "Shariati St.", "Motahari St.",
    "Beheshti St.", "Ferdowsi St.", "Hafez St.", "Saadi St.", "Taleghani Ave.",
    "Keshavarz Blvd.", "Jomhouri Ave.", "Imam Khomeini St.", "Chamran Hwy.", "Modarres Blvd.",
    "Zand Blvd.", "Chaharbagh Abbasi St.", "Bahar St.", "Golestan St.", "Nilufar St.",
)
MOBILE_PREFIXES = ("0912", "0919", "0935", "0936", "0910", "0901", "0921", "0991", "0917")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "chmail.ir", "outlook.com")

# code, name, product kinds it serves
SKILLS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("printer-laser", "Laser printers and MFPs", ("printer",)),
    ("printer-inkjet", "Inkjet printers", ("printer",)),
    ("server-hw", "Server hardware", ("server",)),
    ("storage", "Disk arrays and storage", ("server",)),
    ("network", "Networking", ("server", "printer")),
    ("car-electrical", "Car electrical systems", ("car",)),
    ("car-engine", "Car engine and drivetrain", ("car",)),
    ("car-body", "Car body and paint", ("car",)),
    ("car-diagnostics", "Car diagnostics (OBD)", ("car",)),
    ("hvac", "Heating, ventilation and air conditioning", ()),
)

# Technician profiles: each skill with the (lowest, highest) level drawn for it.
PROFILES: dict[str, dict[str, tuple[int, int]]] = {
    "office": {"printer-laser": (2, 5), "printer-inkjet": (1, 5), "network": (1, 4)},
    "datacenter": {"server-hw": (2, 5), "storage": (1, 5), "network": (2, 5),
                   "printer-laser": (1, 3)},
    "auto": {"car-electrical": (2, 5), "car-engine": (1, 5), "car-diagnostics": (1, 5),
             "car-body": (1, 3)},
    "generalist": {"printer-laser": (1, 4), "printer-inkjet": (1, 4), "server-hw": (1, 3),
                   "car-electrical": (1, 3), "car-diagnostics": (1, 3), "hvac": (1, 4)},
}
# Share of each profile in every territory, in order of assignment.
PROFILE_CYCLE = ("office", "auto", "datacenter", "auto", "office", "generalist")


@dataclass(frozen=True)
class ProductModel:
    code: str
    name: str
    kind: str                 # printer | server | car
    manufacturer: str
    warranty_months: int
    meter_unit: str | None
    skills: tuple[str, ...]   # what a job on it needs (first = main skill)
    serial_prefix: str = ""   # printers and servers
    wmi: str = ""             # cars: world manufacturer identifier
    vds: str = ""             # cars: vehicle descriptor section (positions 4–8)
    weight: int = 1

    @property
    def declared_skills(self) -> tuple[tuple[str, int], ...]:
        """The skills the catalogue declares for the product: its main skill at level 1,
        which technicians of every territory hold (their profiles start it at 1 or more),
        so a job opened on one of its units always has someone able to do it."""
        return ((self.skills[0], 1),)


PRODUCTS: tuple[ProductModel, ...] = (
    ProductModel("HP-M404DN", "HP LaserJet Pro M404dn", "printer", "HP", 12, "pages",
                 ("printer-laser", "network"), serial_prefix="PHB", weight=4),
    ProductModel("HP-M607", "HP LaserJet Enterprise M607", "printer", "HP", 12, "pages",
                 ("printer-laser", "network"), serial_prefix="JPB", weight=2),
    ProductModel("CANON-IR2630I", "Canon imageRUNNER 2630i", "printer", "Canon", 12, "pages",
                 ("printer-laser", "network"), serial_prefix="XMP", weight=3),
    ProductModel("RICOH-IMC3000", "Ricoh IM C3000", "printer", "Ricoh", 12, "pages",
                 ("printer-laser", "network"), serial_prefix="3110", weight=2),
    ProductModel("KYOCERA-M2040", "Kyocera ECOSYS M2040dn", "printer", "Kyocera", 24,
                 "pages", ("printer-laser",), serial_prefix="VCF", weight=2),
    ProductModel("EPSON-L3250", "Epson EcoTank L3250", "printer", "Epson", 12, "pages",
                 ("printer-inkjet",), serial_prefix="X8HZ", weight=3),
    ProductModel("CANON-G3410", "Canon PIXMA G3410", "printer", "Canon", 12, "pages",
                 ("printer-inkjet",), serial_prefix="KMCA", weight=2),
    ProductModel("HPE-DL380G10", "HPE ProLiant DL380 Gen10", "server", "HPE", 36, None,
                 ("server-hw", "storage", "network"), serial_prefix="CZJ", weight=3),
    ProductModel("HPE-ML350G10", "HPE ProLiant ML350 Gen10", "server", "HPE", 36, None,
                 ("server-hw", "storage"), serial_prefix="CZ2", weight=2),
    ProductModel("DELL-R740", "Dell PowerEdge R740", "server", "Dell", 36, None,
                 ("server-hw", "storage", "network"), serial_prefix="DLR", weight=3),
    ProductModel("LENOVO-SR650", "Lenovo ThinkSystem SR650", "server", "Lenovo", 36, None,
                 ("server-hw", "network"), serial_prefix="J30", weight=2),
    ProductModel("IKCO-DENA", "IKCO Dena", "car", "Iran Khodro", 24, "km",
                 ("car-electrical", "car-engine", "car-diagnostics", "car-body"),
                 wmi="NAA", vds="D1B5D", weight=3),
    ProductModel("IKCO-SAMAND", "IKCO Samand LX", "car", "Iran Khodro", 24, "km",
                 ("car-engine", "car-electrical", "car-body"), wmi="NAA", vds="S2A4C", weight=3),
    ProductModel("IKCO-TARA", "IKCO Tara", "car", "Iran Khodro", 24, "km",
                 ("car-electrical", "car-diagnostics", "car-engine"), wmi="NAA", vds="T7K3M",
                 weight=2),
    ProductModel("PEUGEOT-PARS", "Peugeot Pars", "car", "Iran Khodro", 24, "km",
                 ("car-engine", "car-electrical", "car-body"), wmi="NAA", vds="P4N1R",
                 weight=3),
    ProductModel("PEUGEOT-207I", "Peugeot 207i", "car", "Iran Khodro", 24, "km",
                 ("car-electrical", "car-engine", "car-diagnostics"), wmi="NAA", vds="P2W7S",
                 weight=2),
    ProductModel("SAIPA-SHAHIN", "Saipa Shahin", "car", "Saipa", 24, "km",
                 ("car-electrical", "car-engine", "car-diagnostics"), wmi="NAS", vds="H3S8B",
                 weight=2),
    ProductModel("SAIPA-QUICK", "Saipa Quick", "car", "Saipa", 18, "km",
                 ("car-engine", "car-electrical", "car-body"), wmi="NAS", vds="W1K6A", weight=2),
)
RECALL_PRODUCT = "IKCO-DENA"

# sku, name, unit cost (IRR thousands are awkward to read: these are in EUR), product kinds
PARTS: tuple[tuple[str, str, str, str], ...] = (
    ("TN-HP-58A", "HP 58A toner cartridge", "89.00", "printer"),
    ("TN-HP-37A", "HP 37A toner cartridge", "139.00", "printer"),
    ("TN-CANON-C-EXV33", "Canon C-EXV33 toner", "42.00", "printer"),
    ("DRUM-RICOH-D2442", "Ricoh D244 drum unit", "210.00", "printer"),
    ("FUSER-HP-M404", "Fuser assembly for M404", "120.00", "printer"),
    ("FUSER-HP-M607", "Fuser assembly for M607", "240.00", "printer"),
    ("ROLLER-PICKUP-KIT", "Pickup roller kit", "18.50", "printer"),
    ("INK-EPSON-003", "Epson 003 ink bottle set", "24.00", "printer"),
    ("PRINTHEAD-CANON-G", "Canon G-series print head", "55.00", "printer"),
    ("MK-KYOCERA-1150", "Kyocera MK-1150 maintenance kit", "165.00", "printer"),
    ("PSU-HPE-800W", "HPE 800 W power supply", "310.00", "server"),
    ("PSU-DELL-750W", "Dell 750 W power supply", "280.00", "server"),
    ("HDD-SAS-1.2TB", "1.2 TB 10k SAS disk", "230.00", "server"),
    ("SSD-SATA-960GB", "960 GB SATA SSD", "190.00", "server"),
    ("RAM-32GB-DDR4", "32 GB DDR4 RDIMM", "140.00", "server"),
    ("FAN-HPE-DL380", "DL380 hot-plug fan", "75.00", "server"),
    ("RAID-BATT-KIT", "RAID controller battery", "95.00", "server"),
    ("SFP-10G-SR", "10G SR SFP+ transceiver", "45.00", "server"),
    ("BAT-12V-60AH", "Car battery 12 V 60 Ah", "85.00", "car"),
    ("RELAY-FUEL-PUMP", "Fuel pump relay kit (recall remedy)", "12.00", "car"),
    ("SPARK-PLUG-SET", "Spark plug set (4)", "28.00", "car"),
    ("OIL-FILTER-TU5", "Oil filter TU5 engine", "6.50", "car"),
    ("AIR-FILTER-EF7", "Air filter EF7 engine", "9.00", "car"),
    ("BRAKE-PADS-FRONT", "Front brake pads", "32.00", "car"),
    ("ALTERNATOR-90A", "Alternator 90 A", "160.00", "car"),
    ("STARTER-MOTOR", "Starter motor", "140.00", "car"),
    ("ECU-SENSOR-O2", "Oxygen sensor", "48.00", "car"),
    ("WIPER-BLADE-SET", "Wiper blade set", "14.00", "car"),
    ("HEADLAMP-DENA", "Headlamp unit (Dena)", "110.00", "car"),
    ("COOLANT-5L", "Coolant 5 L", "11.00", "car"),
)
RECALL_PART = "RELAY-FUEL-PUMP"


@dataclass(frozen=True)
class DealershipInfo:
    code: str
    name: str
    city: str          # City.key
    district: str
    phone: str
    bays: int
    opens: str
    closes: str


DEALERSHIPS: tuple[DealershipInfo, ...] = (
    DealershipInfo("DLR-TEH-W", "Azadi Auto Service (Tehran West)", "tehran", "Azadi",
                   "021-6602 1100", 8, "07:30", "16:30"),
    DealershipInfo("DLR-TEH-E", "Tehranpars Motor Service (Tehran East)", "tehran",
                   "Tehranpars", "021-7788 4400", 6, "08:00", "17:00"),
    DealershipInfo("DLR-KRJ", "Gohardasht Auto Service", "karaj", "Gohardasht",
                   "026-3440 2200", 4, "08:00", "16:00"),
    DealershipInfo("DLR-ISF-N", "Kaveh Motors (Isfahan North)", "isfahan", "Kaveh",
                   "031-3445 7700", 5, "07:30", "16:00"),
    DealershipInfo("DLR-ISF-S", "Sepahan Auto Service (Isfahan South)", "isfahan",
                   "Sepahan Shahr", "031-3650 9900", 3, "08:00", "16:00"),
    DealershipInfo("DLR-SHZ", "Zand Auto Service", "shiraz", "Vakil",
                   "071-3233 5500", 4, "08:00", "16:00"),
)

# Iran's official holidays on the solar calendar fall on (nearly) fixed Gregorian dates.
# (month, day, name); lunar holidays move every year and are left out of the demo.
SOLAR_HOLIDAYS: tuple[tuple[int, int, str], ...] = (
    (2, 11, "Islamic Revolution Day"),
    (3, 20, "Oil Nationalization Day"),
    (3, 21, "Nowruz"),
    (3, 22, "Nowruz"),
    (3, 23, "Nowruz"),
    (3, 24, "Nowruz"),
    (4, 1, "Islamic Republic Day"),
    (4, 2, "Sizdah Bedar"),
    (6, 4, "Khomeini's death anniversary"),
    (6, 5, "15 Khordad uprising"),
)

# Ticket topics per category: (topic, what the customer said, product kind or None = any).
TICKET_TOPICS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "request": (
        ("paper-jam", "Printer jams on every second page", "printer"),
        ("print-quality", "Streaks and faded print", "printer"),
        ("server-fault", "Server shows amber health LED", "server"),
        ("disk-failure", "RAID reports a failed disk", "server"),
        ("periodic-service", "Car is due for its periodic service", "car"),
        ("installation", "New device needs installation", None),
    ),
    "complaint": (
        ("late-technician", "Technician arrived late", None),
        ("repeat-fault", "Same fault again after repair", None),
        ("engine-noise", "Engine noise after service", "car"),
        ("electrical-fault", "Dashboard warning lights stay on", "car"),
        ("spare-parts", "Spare part not available for weeks", None),
        ("billing", "Charged for a warranty repair", None),
    ),
    "information": (
        ("warranty-status", "Is my device still under warranty?", None),
        ("recall-status", "Is my car affected by a recall?", "car"),
        ("dealer-location", "Where is the nearest service centre?", "car"),
        ("opening-hours", "When are you open on Thursday?", None),
    ),
    "roadside": (
        ("battery", "Car does not start, battery flat", "car"),
        ("breakdown", "Car broke down on the highway", "car"),
        ("flat-tyre", "Flat tyre, no spare", "car"),
    ),
}

# Work orders: (type, summary template per product kind)
WORK_SUMMARIES: dict[str, dict[str, tuple[str, ...]]] = {
    "breakdown": {
        "printer": ("Paper jam in tray 2", "Fuser error 50.2", "Prints blank pages",
                    "Network card not responding"),
        "server": ("Power supply failed", "Disk failure in RAID 5", "Fan failure alarm",
                   "Memory errors reported by iLO"),
        "car": ("Engine will not start", "Check engine light on", "Alternator not charging",
                "Brakes squeal"),
    },
    "preventive": {
        "printer": ("Quarterly printer service", "Maintenance kit replacement"),
        "server": ("Annual server health check", "Firmware update and dust cleaning"),
        "car": ("10,000 km service", "Periodic inspection and oil change"),
    },
    "installation": {
        "printer": ("Install and configure new MFP", "Install network printer"),
        "server": ("Rack and cable new server", "Install additional disks"),
        "car": ("Install GPS tracker", "Fit accessory kit"),
    },
    "recall": {
        "car": ("Recall: replace fuel pump relay",),
        "printer": ("Field notice: replace fuser thermistor",),
        "server": ("Field notice: replace RAID battery",),
    },
    "inspection": {
        "printer": ("Site survey before installation", "Usage and condition inspection"),
        "server": ("Data centre inspection", "Pre-contract condition check"),
        "car": ("Fleet vehicle inspection", "Pre-purchase inspection"),
    },
}

# Demo logins: username, password, role, full name. Printed by `fieldsvc demo`.
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("admin", "admin-demo-1404", "admin", "Demo Administrator"),
    ("manager", "manager-demo-1404", "manager", "Shirin Kamali"),
    ("dispatcher", "dispatcher-demo-1404", "dispatcher", "Navid Farahani"),
    ("agent", "agent-demo-1404", "agent", "Mina Rostami"),
    ("technician", "technician-demo-1404", "technician", None),
    ("dealer", "dealer-demo-1404", "dealership", None),
)
