"""Fixtures of the faults-under-load tests: those of tests/integration, reused as they are.

tests/integration/conftest.py is loaded under another module name (both files are called
conftest.py) and its fixtures and hooks are re-exported here, so the memcached/httpd fixtures,
the error-log guard (@pytest.mark.expect_log) and the CI=true rule (a missing component fails
instead of skipping) behave exactly as in the integration suite.
"""

import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INTEGRATION = os.path.join(os.path.dirname(HERE), "integration")
sys.path.insert(0, INTEGRATION)        # test_placement
sys.path.insert(0, os.path.dirname(HERE))   # pyshs
sys.path.insert(0, HERE)               # loadgen

_NAME = "shs_integration_conftest"
if _NAME in sys.modules:
    _it = sys.modules[_NAME]
else:
    _spec = importlib.util.spec_from_file_location(_NAME, os.path.join(INTEGRATION, "conftest.py"))
    _it = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _it
    _spec.loader.exec_module(_it)

# fixtures
module_path = _it.module_path
apache_bin = _it.apache_bin
memcached_bin = _it.memcached_bin
php_cgi = _it.php_cgi
htpasswd_bin = _it.htpasswd_bin
base_dir = _it.base_dir
workdir = _it.workdir
expect_log = _it.expect_log
memcached = _it.memcached
mc = _it.mc
make_httpd = _it.make_httpd
httpd = _it.httpd
require = _it.require


# hooks (conftest hooks apply to the tests under their own directory only, so running
# tests/integration and tests/faults together does not run the guard twice)
pytest_configure = _it.pytest_configure
pytest_runtest_call = _it.pytest_runtest_call
pytest_runtest_makereport = _it.pytest_runtest_makereport
