{
    "name": "ConnectBooks for Goflow: Job Queue",
    "summary": "Settlement fetches and Goflow syncs as OCA queue jobs, "
    "one channel per account",
    "version": "18.0.1.0.0",
    "category": "Accounting/Accounting",
    "website": "https://github.com/connectbooks/connectbooks_goflow",
    "author": "connectbooks_goflow developers",
    "license": "LGPL-3",
    "application": False,
    "installable": True,
    "auto_install": True,
    "depends": ["connectbooks_goflow", "queue_job"],
    "data": ["data/queue_job_data.xml"],
    "post_init_hook": "post_init_hook",
}
