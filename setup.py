"""Packaging for PyROS, the robotic observatory control software."""

from setuptools import find_packages, setup

setup(
    name="pyros",
    version="0.1.0",
    description="Robotic observatory control over ZeroMQ Majordomo microservices",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["pyros", "pyros.*", "servers", "servers.*", "devices", "devices.*", "webui", "webui.*"]),
    include_package_data=True,
    package_data={"pyros": ["py.typed", "requests/schema/*.xsd", "db/migrations/script.py.mako"],
                  "devices.plc": ["schema/*.json", "samples/*.json"]},
    install_requires=[
        "pyzmq>=25.1",
        "msgpack>=1.0.5",
        "click>=8.1",
        "setproctitle>=1.3",
        "psutil>=5.9",
        "numpy>=1.24",
        "astropy>=6.0",
        "sqlalchemy>=2.0.20",
        "alembic>=1.12",
        "psycopg[binary]>=3.1.12",
        "lxml>=5.0",
        "jsonschema>=4.18",
        "apscheduler>=3.10,<4",
    ],
    extras_require={
        "test": [
            "pytest>=7.4",
            "pytest-timeout>=2.2",
            "hypothesis>=6.80",
            "majortomo>=0.2.0",
            "six>=1.16",  # imported by majortomo, which does not declare it
            # References of the scheduler benchmark (the exact optimum, astroplan), tested too.
            "scipy>=1.9",
            "astroplan>=0.9",
        ],
    },
    entry_points={"console_scripts": ["pyros=pyros.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Astronomy",
    ],
)
