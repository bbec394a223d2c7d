"""Messages shown to volunteers and planners, in Vietnamese (default) and English."""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "vi": "Bắt buộc trả lời câu này.",
        "en": "This question is required.",
    },
    "missing": {
        "vi": "Thiếu thông tin bắt buộc.",
        "en": "This field is required.",
    },
    "not_integer": {
        "vi": "Phải là một số nguyên, ví dụ 4.",
        "en": "Must be a whole number, for example 4.",
    },
    "not_number": {
        "vi": "Phải là một số, ví dụ 2.5.",
        "en": "Must be a number, for example 2.5.",
    },
    "not_text": {"vi": "Phải là chữ.", "en": "Must be text."},
    "number_too_large": {
        "vi": "Số quá lớn để là một câu trả lời.",
        "en": "This number is too large to be an answer.",
    },
    "nul_character": {
        "vi": "Có ký tự không hợp lệ (NUL) trong giá trị này.",
        "en": "This value contains an invalid character (NUL).",
    },
    "text_too_long": {
        "vi": "Quá dài (tối đa {max} ký tự).",
        "en": "Too long (at most {max} characters).",
    },
    "invalid_choice": {
        "vi": "Lựa chọn '{value}' không có trong danh sách. Chọn một trong: {allowed}.",
        "en": "'{value}' is not one of the choices. Choose one of: {allowed}.",
    },
    "constraint": {
        "vi": "Câu trả lời không hợp lệ.",
        "en": "This answer is not allowed.",
    },
    "not_relevant": {
        "vi": "Câu này không áp dụng với các câu trả lời khác; hãy bỏ trống.",
        "en": "This question does not apply given the other answers; leave it empty.",
    },
    "decision_missing": {
        "vi": "Chưa có quyết định duyệt. Chọn một trong: {allowed}.",
        "en": "The review decision is missing. Choose one of: {allowed}.",
    },
    "ward_not_in_city": {
        "vi": "Phường/xã '{ward}' không thuộc {city}.",
        "en": "Ward '{ward}' is not in {city}.",
    },
    "not_relevant_on": {
        "vi": "Câu này không áp dụng với câu trả lời cho {questions}; hãy bỏ trống.",
        "en": "This question does not apply given the answer to {questions}; leave it empty.",
    },
    "choice_not_offered": {
        "vi": "Lựa chọn '{value}' không có trong danh sách câu này hiện ra (bộ lọc lựa chọn).",
        "en": "'{value}' is not among the choices this question offers (its choice filter).",
    },
    "invalid_time": {
        "vi": "Giờ không hợp lệ (định dạng HH:MM:SS, ví dụ 09:30:00+07:00).",
        "en": "Not a valid time of day (HH:MM:SS, for example 09:30:00+07:00).",
    },
    "rank_repeated": {
        "vi": "Mỗi lựa chọn chỉ được xếp hạng một lần.",
        "en": "Each choice may be ranked only once.",
    },
    "rank_incomplete": {
        "vi": "Hãy xếp hạng tất cả các lựa chọn.",
        "en": "Rank every one of the choices.",
    },
    "invalid_file_name": {
        "vi": "Tên tệp không hợp lệ: chỉ dùng chữ không dấu, số, '.', '-' và '_' "
        "(không có thư mục).",
        "en": "Not a valid file name: use only letters without accents, digits, '.', '-' and '_' "
        "(no folders).",
    },
    "out_of_range": {
        "vi": "Phải từ {start} đến {end}, mỗi bước {step}.",
        "en": "Must be from {start} to {end}, in steps of {step}.",
    },
    "weight_unknown_indicator": {
        "vi": "Có chỉ số không tồn tại: {keys}. Các chỉ số: {known}.",
        "en": "There are unknown indicators: {keys}. Known: {known}.",
    },
    "weight_not_a_number": {
        "vi": "Trọng số của {indicator} phải là một số từ 0 đến {max}.",
        "en": "The weight of {indicator} must be a number >= 0 and <= {max}.",
    },
    "weights_all_zero": {
        "vi": "Cần ít nhất một trọng số lớn hơn 0.",
        "en": "At least one weight must be above 0.",
    },
    "nothing_to_change": {
        "vi": "Không có gì để thay đổi: hãy gửi ít nhất một trường.",
        "en": "Nothing to change: send at least one field.",
    },
    "too_many_repeats": {
        "vi": "Quá nhiều mục lặp lại (tối đa {max}).",
        "en": "Too many repeated entries (at most {max}).",
    },
    "expression_failed": {
        "vi": "Không tính được điều kiện của câu này: {error}.",
        "en": "The condition of this question could not be evaluated: {error}.",
    },
    "unknown_question": {
        "vi": "Biểu mẫu '{form}' không có câu hỏi '{name}'.",
        "en": "Form '{form}' has no question '{name}'.",
    },
    "element_twice": {
        "vi": "Câu '{name}' được gửi hai lần: máy chủ không biết giữ câu trả lời nào.",
        "en": "'{name}' is sent twice: the server cannot tell which answer to keep.",
    },
    "unknown_form": {
        "vi": "Không có biểu mẫu '{form}'. Hãy cập nhật ứng dụng để tải biểu mẫu mới.",
        "en": "There is no form '{form}'. Update the app to get the current forms.",
    },
    "unknown_form_version": {
        "vi": "Biểu mẫu '{form}' không có phiên bản '{version}'. Các phiên bản: {versions}.",
        "en": "Form '{form}' has no version '{version}'. Known versions: {versions}.",
    },
    "invalid_geopoint": {
        "vi": "Tọa độ không hợp lệ: cần 'vĩ độ kinh độ [độ cao] [độ chính xác]'.",
        "en": "Not a valid location: expected 'lat lon [altitude] [accuracy]'.",
    },
    "manual_point_unknown": {
        "vi": "'{name}' không phải là câu trả lời vị trí nào của khảo sát này nên không thể ghi là "
        "đặt bằng tay.",
        "en": "'{name}' is no location answer of this survey, so it cannot be marked as placed "
        "by hand.",
    },
    "invalid_geoshape": {
        "vi": "Ranh giới không hợp lệ: cần ít nhất {min} điểm khác nhau.",
        "en": "Not a valid boundary: at least {min} different points are needed.",
    },
    "geoshape_point_invalid": {
        "vi": "Ranh giới không hợp lệ: điểm thứ {n} ('{point}') phải là 'vĩ độ kinh độ [độ cao] "
        "[độ chính xác]', viết bằng chữ số.",
        "en": "Not a valid boundary: point {n} ('{point}') must be 'lat lon [altitude] "
        "[accuracy]' in digits.",
    },
    "geoshape_point_out_of_range": {
        "vi": "Ranh giới không hợp lệ: điểm thứ {n} có vĩ độ {lat}, kinh độ {lon}; vĩ độ phải từ "
        "-90 đến 90 và kinh độ từ -180 đến 180 (vĩ độ viết trước).",
        "en": "Not a valid boundary: point {n} has latitude {lat}, longitude {lon}; latitude "
        "must be between -90 and 90 and longitude between -180 and 180 (latitude first).",
    },
    "geoshape_too_many_points": {
        "vi": "Quá nhiều điểm: tối đa {max} điểm cho một ranh giới hay một đường đi.",
        "en": "Too many points: at most {max} for a boundary or a line walked.",
    },
    "geoshape_no_area": {
        "vi": "Ranh giới không hợp lệ: các điểm nằm trên một đường thẳng, không bao quanh khu "
        "vực nào. Hãy đi bộ vòng quanh khu.",
        "en": "Not a valid boundary: its points lie on one line and enclose no area. Walk "
        "around the place.",
    },
    "invalid_date": {
        "vi": "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
        "en": "Not a valid date (format YYYY-MM-DD).",
    },
    "invalid_datetime": {
        "vi": "Thời điểm không hợp lệ (định dạng ISO 8601, ví dụ 2026-11-26T09:30:00+07:00).",
        "en": "Not a valid time (ISO 8601, for example 2026-11-26T09:30:00+07:00).",
    },
    "lat_range": {
        "vi": "Vĩ độ phải nằm trong khoảng -90 đến 90 (nhận được {value}).",
        "en": "Latitude must be between -90 and 90 (got {value}).",
    },
    "lon_range": {
        "vi": "Kinh độ phải nằm trong khoảng -180 đến 180 (nhận được {value}).",
        "en": "Longitude must be between -180 and 180 (got {value}).",
    },
    "lat_lon_swapped": {
        "vi": "Vĩ độ và kinh độ có vẻ bị đảo ngược (vĩ độ {lat}, kinh độ {lon}). "
        "Ở Việt Nam vĩ độ khoảng 8-24, kinh độ khoảng 102-110.",
        "en": "Latitude and longitude look swapped (lat {lat}, lon {lon}). "
        "In Vietnam latitude is about 8-24 and longitude about 102-110.",
    },
    "null_island": {
        "vi": "Chưa có vị trí GPS (0, 0). Hãy chờ điện thoại bắt được GPS rồi thử lại.",
        "en": "No GPS fix (0, 0). Wait for the phone to get a GPS position and try again.",
    },
    "accuracy_negative": {
        "vi": "Độ chính xác GPS không thể âm (nhận được {value} m).",
        "en": "GPS accuracy cannot be negative (got {value} m).",
    },
    "collected_in_future": {
        "vi": "Thời điểm khảo sát ({value}) xa hơn một năm trong tương lai. "
        "Kiểm tra ngày giờ của điện thoại.",
        "en": "The survey time ({value}) is more than a year in the future. "
        "Check the phone's date and time.",
    },
    "collected_too_old": {
        "vi": "Thời điểm khảo sát ({value}) quá cũ. Kiểm tra ngày giờ của điện thoại.",
        "en": "The survey time ({value}) is too far in the past. Check the phone's date and time.",
    },
    "invalid_uuid": {
        "vi": "Mã khảo sát phải là một UUID (ví dụ 0b6f5c1e-...).",
        "en": "The survey id must be a UUID (for example 0b6f5c1e-...).",
    },
    "wrong_type": {
        "vi": "Sai kiểu dữ liệu: cần {expected}.",
        "en": "Wrong type: expected {expected}.",
    },
    "unknown_field": {
        "vi": "Trường '{name}' không được hỗ trợ.",
        "en": "Unknown field '{name}'.",
    },
    "invalid_json": {
        "vi": "Dữ liệu gửi lên không phải JSON hợp lệ.",
        "en": "The request body is not valid JSON.",
    },
    "invalid_json_at": {
        "vi": "Dữ liệu gửi lên không phải JSON hợp lệ (lỗi ở dòng {line}, cột {column}).",
        "en": "The request body is not valid JSON (the error is at line {line}, column {column}).",
    },
    "invalid_utf8": {
        "vi": "Dữ liệu gửi lên không phải văn bản UTF-8 hợp lệ.",
        "en": "The data sent is not valid UTF-8 text.",
    },
    "unknown_host": {
        "vi": "Máy chủ này không phục vụ tên miền đó: hãy mở đúng địa chỉ máy chủ của thành phố.",
        "en": "This server does not answer to that name: open the address of the city's server.",
    },
    "body_timeout": {
        "vi": "Dữ liệu gửi lên bị ngắt giữa chừng hoặc đến quá chậm; hãy thử gửi lại.",
        "en": "The request body stopped or came too slowly; try sending it again.",
    },
    "body_too_large": {
        "vi": "Dữ liệu gửi lên quá lớn (tối đa {max}).",
        "en": "The request body is too large (at most {max}).",
    },
    "batch_too_large": {
        "vi": "Một lần gửi tối đa {max} khảo sát (nhận được {count}).",
        "en": "At most {max} surveys per batch (got {count}).",
    },
    "validation_failed": {
        "vi": "Dữ liệu chưa hợp lệ; xem lỗi của từng trường.",
        "en": "Not valid; see the error for each field.",
    },
    "conflict": {
        "vi": "Máy chủ đã có khảo sát mã {id} với nội dung khác; khảo sát đã lưu không bị "
        "thay đổi. Muốn sửa, hãy chờ người duyệt gửi lại phiếu để sửa (đừng tạo phiếu mới "
        "cho cùng hộ).",
        "en": "The server already has survey {id} with other content; the stored survey was "
        "not changed. To change it, wait for the reviewer to send it back for correction (do "
        "not start a new survey of the same household).",
    },
    "not_found": {
        "vi": "Không tìm thấy {what}.",
        "en": "{what} was not found.",
    },
    "not_an_id": {
        "vi": "Phải là một mã số: số nguyên từ 1 trở lên, ví dụ 3.",
        "en": "Must be an id: a whole number from 1, for example 3.",
    },
    "ward_not_found": {
        "vi": "Không tìm thấy phường/xã số {id}.",
        "en": "Ward {id} was not found.",
    },
    "survey_not_found": {
        "vi": "Không tìm thấy phiếu khảo sát {id}.",
        "en": "Survey {id} was not found.",
    },
    "bad_query": {
        "vi": "Tham số không hợp lệ.",
        "en": "Invalid query parameter.",
    },
    "city_read_by_ward": {
        "vi": "Bạn chỉ đọc được số liệu của phường mình ở '{city}': thêm ward=… "
        "(phường của bạn: {wards}).",
        "en": "You may read only your own wards' data in '{city}': add ward=… "
        "(your wards: {wards}).",
    },
    "city_bad_slug": {
        "vi": "Mã thành phố '{slug}' không dùng được: chỉ chữ thường không dấu, số và dấu "
        "gạch ngang, ví dụ tam-ky (tối đa 64 ký tự).",
        "en": "The city code '{slug}' cannot be used: lower-case letters without accents, "
        "digits and hyphens only, for example tam-ky (at most 64 characters).",
    },
    "city_bad_name": {
        "vi": "Tên thành phố phải có chữ (tối đa 200 ký tự).",
        "en": "The city's name must hold some text (at most 200 characters).",
    },
    "unknown_city": {
        "vi": "Không có thành phố '{city}'.",
        "en": "There is no city '{city}'.",
    },
    "attachment_conflict": {
        "vi": "Khảo sát {id} đã có một ảnh khác tên '{filename}'. Ảnh đã lưu không bị thay đổi; "
        "hãy đặt tên khác cho ảnh mới.",
        "en": "Survey {id} already has a different photo named '{filename}'. The stored photo "
        "was not changed; give the new photo another name.",
    },
    "unsupported_media_type": {
        "vi": "Chỉ nhận ảnh, bản ghi âm hoặc tài liệu thuộc các loại: {allowed}.",
        "en": "Only photos, sound recordings or documents of these types are accepted: {allowed}.",
    },
    "extension_mismatch": {
        "vi": "Tên tệp '{filename}' không đúng loại của câu hỏi (đuôi tên phải là một trong: "
        "{extensions}).",
        "en": "The file name '{filename}' does not fit its question (its extension must be "
        "one of: {extensions}).",
    },
    "content_mismatch": {
        "vi": "Nội dung tệp không phải loại {type} như đã khai báo.",
        "en": "The file content is not of the announced type {type}.",
    },
    "invalid_filename": {
        "vi": "Tên tệp '{filename}' không hợp lệ: chỉ dùng chữ không dấu, số, dấu chấm, "
        "gạch ngang và gạch dưới (tối đa 128 ký tự).",
        "en": "The file name '{filename}' is not allowed: use only letters, digits, dot, dash "
        "and underscore (at most 128 characters).",
    },
    "empty_upload": {
        "vi": "Tệp gửi lên bị rỗng.",
        "en": "The uploaded file is empty.",
    },
    "image_mismatch": {
        "vi": "Nội dung tệp không phải ảnh {type}.",
        "en": "The file content is not a {type} image.",
    },
    "server_busy": {
        "vi": "Máy chủ đang bận với một lần gửi khác. Dữ liệu vẫn còn trên điện thoại; "
        "hãy gửi lại sau ít giây.",
        "en": "The server was busy with another upload. Your data is still on the phone; "
        "send again in a few seconds.",
    },
    "database_unavailable": {
        "vi": "Máy chủ tạm thời không kết nối được cơ sở dữ liệu. Dữ liệu vẫn còn trên điện "
        "thoại; hãy gửi lại sau.",
        "en": "The server cannot reach its database right now. Your data is still on the "
        "phone; send again later.",
    },
    "exports_busy": {
        "vi": "Máy chủ đang xuất nhiều lớp dữ liệu cùng lúc. Hãy tải lại sau ít giây.",
        "en": "The server is busy with other exports. Download again in a few seconds.",
    },
    "unknown_export_layer": {
        "vi": "Không có lớp dữ liệu '{layer}'. Các lớp: {layers}, hoặc forms/<mã biểu mẫu>.",
        "en": "There is no layer '{layer}'. Layers: {layers}, or forms/<form id>.",
    },
    "unknown_export_format": {
        "vi": "Không xuất được định dạng này. Đuôi tên tệp phải là một trong: {formats}.",
        "en": "This format cannot be exported. The file name must end in one of: {formats}.",
    },
    "unknown_repeat": {
        "vi": "Biểu mẫu không có nhóm lặp '{repeat}'. Các nhóm lặp: {repeats}.",
        "en": "The form has no repeat '{repeat}'. Its repeats: {repeats}.",
    },
    "personal_not_allowed": {
        "vi": "Bạn không được xem thông tin cá nhân (tên, số điện thoại, ảnh) ở đây; hãy tải "
        "lại không có personal=true.",
        "en": "You may not see personal fields (names, phones, photos) here; download again "
        "without personal=true.",
    },
    "invalid_form_id": {
        "vi": "Mã biểu mẫu không hợp lệ: chỉ dùng chữ không dấu, số, dấu chấm, gạch ngang và "
        "gạch dưới (tối đa 64 ký tự).",
        "en": "Not a valid form id: use only letters, digits, dot, dash and underscore (at most "
        "64 characters).",
    },
    "internal_error": {
        "vi": "Lỗi máy chủ. Dữ liệu của bạn vẫn còn trên điện thoại; hãy thử gửi lại sau.",
        "en": "Server error. Your data is still on the phone; try sending again later.",
    },
    # Accounts and roles
    "sign_in_required": {
        "vi": "Cần đăng nhập. Hãy đăng nhập lại; các phiếu chưa gửi vẫn còn trên điện thoại.",
        "en": "Please sign in again; surveys not yet sent stay on the phone.",
    },
    "bad_credentials": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong username or password.",
    },
    "bad_enrolment": {
        "vi": "Mã đăng ký điện thoại không dùng được (đã dùng hoặc hết hạn). Xin mã mới.",
        "en": "This phone enrolment code cannot be used (used or expired). Ask for a new one.",
    },
    "sign_in_busy": {
        "vi": "Máy chủ đang bận kiểm tra nhiều lần đăng nhập. Hãy thử lại sau vài giây.",
        "en": "The server is busy checking many sign-ins. Try again in a few seconds.",
    },
    "too_many_sign_ins": {
        "vi": "Đăng nhập sai quá nhiều lần. Thử lại sau {minutes} phút.",
        "en": "Too many failed sign-ins. Try again in {minutes} minutes.",
    },
    "not_allowed": {
        "vi": "Vai trò của bạn không được làm việc này.",
        "en": "Your role does not allow this.",
    },
    "user_not_found": {"vi": "Không tìm thấy người dùng {id}.", "en": "User {id} was not found."},
    "grant_not_found": {"vi": "Không tìm thấy vai trò {id}.", "en": "Role {id} was not found."},
    "device_not_found": {
        "vi": "Không tìm thấy điện thoại {id}.",
        "en": "Phone {id} was not found.",
    },
    "file_not_found": {
        "vi": "Không tìm thấy tệp '{filename}'.",
        "en": "File '{filename}' was not found.",
    },
    # --- ODK Collect (app/api/odk.py): messages Collect shows on the phone
    "odk_sign_in": {
        "vi": "Hãy nhập tên đăng nhập và mật khẩu điện thoại (hoặc quét lại mã QR).",
        "en": "Enter the username and the phone's password (or scan the QR code again).",
    },
    "odk_bad_credentials": {
        "vi": "Sai tên đăng nhập hoặc mật khẩu.",
        "en": "Wrong username or password.",
    },
    "odk_basic_needs_https": {
        "vi": "Đăng nhập kiểu Basic gửi nguyên mật khẩu nên chỉ dùng được qua HTTPS: hãy dùng "
        "địa chỉ https:// của máy chủ. Qua HTTP, hãy đăng nhập kiểu Digest bằng mã điện thoại "
        "(quét mã QR do quản trị viên cấp).",
        "en": "Basic sign-in sends the password itself, so it works over HTTPS only: use the "
        "server's https:// address. Over plain HTTP, sign in with Digest and the phone token "
        "(scan the QR code your admin gives you).",
    },
    "odk_token_revoked": {
        "vi": "Mã của điện thoại này đã bị thu hồi hoặc hết hạn: hãy xin mã QR mới.",
        "en": "This phone's token was revoked or has expired: ask for a new QR code.",
    },
    "odk_not_allowed": {
        "vi": "Vai trò của bạn không được gửi khảo sát.",
        "en": "Your role may not send surveys.",
    },
    "odk_too_large": {
        "vi": "Bài gửi quá lớn (tối đa {max_mb} MB mỗi lần gửi).",
        "en": "The submission is too large (at most {max_mb} MB per request).",
    },
    "odk_multipart_required": {
        "vi": "Bài gửi phải là multipart/form-data có phần xml_submission_file.",
        "en": "A submission must be multipart/form-data with an xml_submission_file part.",
    },
    "odk_xml_missing": {
        "vi": "Thiếu phần xml_submission_file (tệp XML của khảo sát).",
        "en": "The xml_submission_file part (the survey's XML) is missing.",
    },
    "odk_part_twice": {
        "vi": "Bài gửi có hai phần cùng tên '{name}': máy chủ không biết giữ phần nào nên "
        "không lưu gì. Hãy gửi lại, mỗi phần một lần.",
        "en": "The submission has the part '{name}' twice: the server cannot tell which one "
        "to keep, so nothing is stored. Send it again with each part once.",
    },
    "odk_malformed_xml": {
        "vi": "Tệp XML của khảo sát không đọc được: {problem} (dòng {line}, cột {column}).",
        "en": "The survey's XML cannot be read: {problem} (line {line}, column {column}).",
    },
    "odk_xml_encoding": {
        "vi": "Tệp XML của khảo sát phải dùng bảng mã UTF-8 (như ODK Collect ghi), không phải "
        "{encoding}.",
        "en": "The survey's XML must be in UTF-8 (as ODK Collect writes it), not {encoding}.",
    },
    "odk_xml_declarations": {
        "vi": "Tệp XML của khảo sát có khai báo DTD hoặc thực thể (<!DOCTYPE …>, <!ENTITY …>): "
        "máy chủ không nhận.",
        "en": "The survey's XML declares a DTD or entities (<!DOCTYPE …>, <!ENTITY …>): the "
        "server does not take them.",
    },
    "xml_problem.cut_short": {
        "vi": "tệp trống hoặc bị cắt ngang",
        "en": "the file is empty or cut short",
    },
    "xml_problem.tag_mismatch": {
        "vi": "thẻ đóng không khớp với thẻ mở",
        "en": "a closing tag does not match its opening tag",
    },
    "xml_problem.after_root": {
        "vi": "còn nội dung sau phần tử gốc",
        "en": "there is more after the root element",
    },
    "xml_problem.undefined_entity": {
        "vi": "tham chiếu tới một thực thể không có (&…;)",
        "en": "a reference to an entity that does not exist (&…;)",
    },
    "xml_problem.unbound_prefix": {
        "vi": "tiền tố không gian tên chưa khai báo",
        "en": "a namespace prefix that is not declared",
    },
    "xml_problem.duplicate_attribute": {
        "vi": "một thuộc tính lặp lại trong cùng thẻ",
        "en": "an attribute repeated in one tag",
    },
    "xml_problem.encoding": {
        "vi": "bảng mã ký tự sai hoặc không biết",
        "en": "a wrong or unknown character encoding",
    },
    "xml_problem.not_well_formed": {
        "vi": "sai cú pháp XML",
        "en": "it is not well-formed XML",
    },
    "odk_instance_too_deep": {
        "vi": "Các phần tử của tệp XML lồng nhau quá sâu (tối đa {max} cấp).",
        "en": "The survey's XML nests its elements too deep (at most {max} levels).",
    },
    "odk_instance_too_large": {
        "vi": "Tệp XML có quá nhiều phần tử (tối đa {max}).",
        "en": "The survey's XML has too many elements (at most {max}).",
    },
    "odk_form_id_missing": {
        "vi": "Phần tử gốc của XML thiếu thuộc tính id của biểu mẫu.",
        "en": "The XML's root element has no form id attribute.",
    },
    "odk_instance_id_missing": {
        "vi": "Thiếu meta/instanceID trong XML của khảo sát.",
        "en": "The survey's XML has no meta/instanceID.",
    },
    "odk_instance_id_invalid": {
        "vi": "meta/instanceID '{value}' không phải dạng uuid:… .",
        "en": "meta/instanceID '{value}' is not of the form uuid:… .",
    },
    "instance_id_invalid": {
        "vi": "'{value}' không phải dạng uuid:… .",
        "en": "'{value}' is not of the form uuid:… .",
    },
    "odk_invalid_survey": {
        "vi": "Khảo sát chưa hợp lệ:",
        "en": "The survey is not valid:",
    },
    "odk_received": {
        "vi": "Máy chủ đã nhận khảo sát.",
        "en": "The server received the survey.",
    },
    "odk_files_refused": {
        "vi": "Các tệp sau không được nhận (khảo sát vẫn được lưu):",
        "en": "These files were not kept (the survey is stored all the same):",
    },
    "odk_already_received": {
        "vi": "Máy chủ đã nhận khảo sát này trước đó.",
        "en": "The server had received this survey already.",
    },
    "odk_instance_conflict": {
        "vi": "Một khảo sát khác đã được gửi với cùng mã {id}: không lưu bài này.",
        "en": "Another survey was sent under the same id {id}: this one is not stored.",
    },
    "odk_form_not_found": {
        "vi": "Máy chủ không có biểu mẫu '{form}'. Hãy tải lại biểu mẫu trống.",
        "en": "The server has no form '{form}'. Get the blank forms again.",
    },
    "odk_form_version_not_found": {
        "vi": "Biểu mẫu '{form}' không có phiên bản '{version}' trên máy chủ. Các phiên bản: "
        "{versions}. Hãy tải lại biểu mẫu trống.",
        "en": "Form '{form}' has no version '{version}' on the server. Known versions: "
        "{versions}. Get the blank forms again.",
    },
    "odk_root_mismatch": {
        "vi": "Phần tử gốc của XML là <{root}>, nhưng biểu mẫu '{form}' (phiên bản "
        "'{version}') có phần tử gốc <{expected}>: khảo sát được điền bằng một biểu mẫu khác "
        "cùng mã. Hãy tải lại biểu mẫu trống.",
        "en": "The XML's root element is <{root}>, but form '{form}' (version '{version}') "
        "has the root element <{expected}>: the survey was filled in with another form under "
        "the same id. Get the blank forms again.",
    },
    "password_too_short": {
        "vi": "Mật khẩu cần ít nhất {min} ký tự.",
        "en": "The password needs at least {min} characters.",
    },
    "invalid_username": {
        "vi": "Tên đăng nhập chỉ gồm chữ thường không dấu, chữ số, dấu chấm, gạch ngang, gạch "
        "dưới (2–64 ký tự), bắt đầu bằng chữ hoặc số (ví dụ tnv-07).",
        "en": "A username has 2-64 lowercase letters without accents, digits, dots, dashes or "
        "underscores, starting with a letter or digit (for example tnv-07).",
    },
    "username_taken": {
        "vi": "Tên đăng nhập '{username}' đã có người dùng.",
        "en": "The username '{username}' is taken.",
    },
    "role_has_no_place": {
        "vi": "Quản trị quốc gia không gắn với thành phố hay phường nào.",
        "en": "A national admin has no city or ward.",
    },
    "role_is_city_wide": {
        "vi": "Vai trò này áp dụng cho cả thành phố, không cho một phường.",
        "en": "This role is for a whole city, not a ward.",
    },
    "comment_required": {
        "vi": "Cần ghi lý do để tình nguyện viên biết phải sửa gì.",
        "en": "Write a comment so the volunteer knows what to fix.",
    },
    "settlement_not_found": {
        "vi": "Không tìm thấy khu dân cư số {id}.",
        "en": "Settlement {id} was not found.",
    },
    "settlement_not_in_ward": {
        "vi": "Khu dân cư số {id} không nằm trong phường/xã số {ward}.",
        "en": "Settlement {id} is not in ward {ward}.",
    },
    "correction_other_form": {
        "vi": "Phiếu {id} thuộc biểu mẫu '{form}'; không thể sửa nó bằng một phiếu của biểu mẫu "
        "'{sent}'.",
        "en": "Survey {id} is of form '{form}'; it cannot be replaced by a survey of form "
        "'{sent}'.",
    },
    "invalid_device_id": {
        "vi": "Mã điện thoại phải là một UUID, như trong danh sách điện thoại của người đó.",
        "en": "The phone's id must be a UUID, as in the person's list of phones.",
    },
    "not_collector": {
        "vi": "Chỉ người thu thập phiếu này mới sửa được phiếu. Nếu phiếu cần sửa, hãy gửi trả "
        "lại cho người thu thập kèm nhận xét.",
        "en": "Only the person who collected this survey can correct it. If it needs changes, "
        "send it back to them with a comment.",
    },
    "not_correctable": {
        "vi": "Phiếu đã được duyệt xong (trạng thái: {status}); không sửa được nữa.",
        "en": "This survey's review is done (status: {status}); it can no longer be corrected.",
    },
    "correction_outdated": {
        "vi": "Phiếu {id} đã thay đổi trên máy chủ (nay là phiên bản {current}) kể từ phiên "
        "bản {version} mà bản sửa này dựa vào; bản sửa không được nhận. Hãy đồng bộ điện "
        "thoại để xem phiếu như hiện nay và góp ý mới nhất của người duyệt.",
        "en": "Survey {id} changed on the server (it is now version {current}) since version "
        "{version}, which this correction was made on; the correction was not taken. Sync "
        "the phone to see the survey as it is now and the reviewer's latest comment.",
    },
    "correction_version_unknown": {
        "vi": "Máy chủ không có phiên bản {version} của phiếu {id} (phiếu đang ở phiên bản "
        "{current}); bản sửa không được nhận.",
        "en": "The server has no version {version} of survey {id} (it is at version "
        "{current}); the correction was not taken.",
    },
    "review_version_changed": {
        "vi": "Phiếu {id} đã được tình nguyện viên sửa trong lúc bạn xem (bạn xem phiên bản "
        "{version}, nay là phiên bản {current}); quyết định chưa được ghi. Hãy xem nội dung "
        "mới rồi quyết định lại.",
        "en": "Survey {id} was corrected by its volunteer while you were looking at it (you "
        "saw version {version}, it is now version {current}); your decision was not "
        "recorded. Look at the new content, then decide again.",
    },
    "review_status_changed": {
        "vi": "Phiếu {id} đã được người khác quyết định trong lúc bạn xem (bạn xem: {seen}; "
        "nay: {status}); quyết định của bạn chưa được ghi. Hãy xem lại phiếu rồi quyết định "
        "lại.",
        "en": "Survey {id} was decided by someone else while you were looking at it (you saw: "
        "{seen}; now: {status}); your decision was not recorded. Look at the survey again, "
        "then decide.",
    },
    "review_status_changed_yours": {
        "vi": "Quyết định trước đó của chính bạn cho phiếu {id} đã được ghi (nay: {status}), "
        "dù trang chưa nhận được trả lời; quyết định này chưa được ghi. Muốn đổi, hãy xem lại "
        "phiếu rồi quyết định lại.",
        "en": "Your own earlier decision on survey {id} was recorded (now: {status}), though "
        "the page never got the answer; this decision was not recorded. To change it, look "
        "at the survey again, then decide.",
    },
    "own_survey": {
        "vi": "Bạn đã thu thập phiếu {id} nên không tự duyệt, trả lại hay từ chối phiếu này "
        "được; một trưởng phường khác hoặc quản trị thành phố sẽ duyệt phiếu. Quyết định chưa "
        "được ghi.",
        "en": "You collected survey {id}, so you may not approve, send back or reject it "
        "yourself; another ward leader or the city admin reviews it. Your decision was not "
        "recorded.",
    },
    "not_a_version": {
        "vi": "Phải là số phiên bản của phiếu: một số nguyên từ 1 trở lên, ví dụ 2.",
        "en": "Must be a survey's version: a whole number from 1, for example 2.",
    },
    "listed_twice": {
        "vi": "Phiếu {id} có hai lần trong danh sách.",
        "en": "Survey {id} is listed twice.",
    },
    "id_mismatch": {
        "vi": "Mã phiếu trong nội dung khác với mã {id} trong địa chỉ.",
        "en": "The survey id in the body differs from {id} in the address.",
    },
    "csrf_failed": {
        "vi": "Phiên làm việc không hợp lệ. Tải lại trang rồi thử lại.",
        "en": "The page's session check failed. Reload the page and try again.",
    },
    # Server-rendered pages (app/templates)
    "page.app_name": {"vi": "Bản đồ CDF", "en": "CDF map"},
    "page.sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "page.sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    # The map pages' note when their data comes from the browser's copy (static/maps/offline.js)
    "page.offline_note": {
        "vi": "Không có mạng: dữ liệu đã lưu lúc {time}",
        "en": "No network: data saved at {time}",
    },
    "page.username": {"vi": "Tên đăng nhập", "en": "Username"},
    "page.password": {"vi": "Mật khẩu", "en": "Password"},
    "page.signed_in_as": {"vi": "Đã đăng nhập:", "en": "Signed in as"},
    "page.what_you_can_do": {"vi": "Bạn có thể", "en": "What you can do"},
    "page.phone_app": {
        "vi": "Ứng dụng khảo sát trên điện thoại",
        "en": "The phone survey app",
    },
    "page.city_map": {"vi": "Bản đồ thành phố", "en": "City map"},
    "page.ward_map": {"vi": "Bản đồ phường", "en": "Ward map"},
    "page.review": {"vi": "Duyệt phiếu khảo sát", "en": "Review surveys"},
    "page.admin": {
        "vi": "Quản trị: người dùng, vai trò, địa bàn",
        "en": "Admin: people, roles, places",
    },
    "page.api_docs": {"vi": "Tài liệu API", "en": "API documentation"},
    "page.role.volunteer": {"vi": "Tình nguyện viên", "en": "Volunteer"},
    "page.role.ward_leader": {"vi": "Trưởng khu phố / phường", "en": "Ward leader"},
    "page.role.planner": {"vi": "Cán bộ quy hoạch", "en": "Planner"},
    "page.role.city_admin": {"vi": "Quản trị thành phố", "en": "City admin"},
    "page.role.national_admin": {"vi": "Quản trị quốc gia", "en": "National admin"},
    "page.role.cdf_staff": {"vi": "Cán bộ quỹ CDF", "en": "CDF staff"},
    "page.role.treasurer": {"vi": "Thủ quỹ nhóm tiết kiệm", "en": "Savings group treasurer"},
    "page.cdf_books": {"vi": "Sổ sách quỹ CDF", "en": "CDF books"},
    "page.sign_in_hint": {
        "vi": "Tình nguyện viên: đăng ký điện thoại bằng mã QR do cán bộ quản trị cấp, "
        "không cần mật khẩu.",
        "en": "Volunteers: enrol your phone with the QR code an admin gives you; "
        "no password needed.",
    },
    # The review page (app/api/review_page.py, static/review/review.js)
    "page.start_page": {"vi": "Trang đầu", "en": "Start page"},
    "page.review_ward": {"vi": "Phường/xã", "en": "Ward"},
    "page.review_open": {"vi": "Mở", "en": "Open"},
    "page.review_queue": {"vi": "Phiếu chờ duyệt", "en": "Surveys waiting for review"},
    "page.review_map": {
        "vi": "Bản đồ: vị trí của phiếu đang chọn, ranh giới phường và khu dân cư",
        "en": "Map: the selected survey's point, the ward and settlement boundaries",
    },
    "page.review_bulk_title": {"vi": "Duyệt cả khu dân cư", "en": "Approve a whole settlement"},
    "page.review_bulk_hint": {
        "vi": "Duyệt một lần các phiếu chờ duyệt không có cảnh báo của một khu dân cư đang "
        "hiện trên trang; phiếu có cảnh báo, và phiếu được sửa trong lúc bạn xem, ở lại để "
        "xem kỹ.",
        "en": "Approve at once the waiting surveys without flags of a settlement that this "
        "page shows; flagged surveys, and those corrected while you look, stay for a closer "
        "look.",
    },
    "page.review_volunteers": {"vi": "Theo tình nguyện viên", "en": "By volunteer"},
    "page.review_col_volunteer": {"vi": "Tình nguyện viên", "en": "Volunteer"},
    "page.review_col_waiting": {"vi": "Chờ duyệt", "en": "Waiting"},
    "page.review_col_approved": {"vi": "Đã duyệt", "en": "Approved"},
    "page.review_col_sent_back": {"vi": "Trả lại để sửa", "en": "Sent back"},
    "page.review_col_rejected": {"vi": "Từ chối", "en": "Rejected"},
    "page.review_col_flagged": {"vi": "Có cảnh báo", "en": "Flagged"},
    "page.review_confirm": {"vi": "Đồng ý", "en": "Confirm"},
    "page.review_cancel": {"vi": "Hủy", "en": "Cancel"},
    "page.review_forbidden_title": {"vi": "Không có quyền duyệt", "en": "No review role"},
    "page.review_forbidden": {
        "vi": "Chỉ trưởng phường và quản trị thành phố được duyệt phiếu khảo sát. "
        "Nếu bạn cần duyệt, hãy nhờ quản trị thành phố cấp vai trò.",
        "en": "Only ward leaders and city admins review surveys. "
        "Ask your city admin for the role if you need it.",
    },
    "page.review_not_found_title": {"vi": "Không tìm thấy phường/xã", "en": "Ward not found"},
    "page.review_not_found": {
        "vi": "Không có phường/xã này trong danh sách bạn được duyệt.",
        "en": "This ward is not among those you review.",
    },
    "page.review_no_wards_title": {"vi": "Chưa có phường/xã", "en": "No ward yet"},
    "page.review_no_wards": {
        "vi": "Bạn chưa được giao phường/xã nào để duyệt.",
        "en": "No ward has been given to you to review yet.",
    },
    "page.review_loading": {"vi": "Đang tải…", "en": "Loading…"},
    "page.review_empty": {
        "vi": "Không còn phiếu nào chờ duyệt ở phường này.",
        "en": "No survey is waiting for review in this ward.",
    },
    "page.review_waiting_count": {"vi": "{n} phiếu", "en": "{n} surveys"},
    "page.review_load_more": {"vi": "Xem thêm phiếu", "en": "Show more surveys"},
    "page.review_collected": {"vi": "Thời điểm khảo sát", "en": "Collected"},
    "page.review_collector": {"vi": "Người khảo sát", "en": "Collector"},
    "page.review_settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "page.review_no_settlement": {"vi": "Ngoài các khu dân cư", "en": "Outside any settlement"},
    "page.review_head": {"vi": "Chủ hộ", "en": "Head of household"},
    "page.review_no_name": {"vi": "(không có tên)", "en": "(no name)"},
    "page.review_no_location": {
        "vi": "Phiếu này không có vị trí trên bản đồ",
        "en": "This survey has no place on the map",
    },
    "page.review_comment": {
        "vi": "Nhận xét cho tình nguyện viên (bắt buộc khi trả lại hoặc từ chối)",
        "en": "Comment for the volunteer (required to send back or reject)",
    },
    "page.review_approve": {"vi": "Duyệt", "en": "Approve"},
    "page.review_send_back": {"vi": "Trả lại để sửa", "en": "Send back"},
    "page.review_reject": {"vi": "Từ chối", "en": "Reject"},
    "page.review_done_approved": {"vi": "Đã duyệt", "en": "Approved"},
    "page.review_done_needs_correction": {"vi": "Đã trả lại để sửa", "en": "Sent back"},
    "page.review_done_rejected": {"vi": "Đã từ chối", "en": "Rejected"},
    "page.review_change": {"vi": "Đổi quyết định", "en": "Change decision"},
    "page.review_current": {
        "vi": "Quyết định hiện tại: {decision}. Chọn quyết định khác, hoặc giữ nguyên.",
        "en": "Current decision: {decision}. Choose another one, or keep it.",
    },
    "page.review_keep": {"vi": "Giữ nguyên", "en": "Keep it"},
    "page.review_network_error": {
        "vi": "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
        "en": "Could not reach the server. Check the connection and try again.",
    },
    "page.review_error": {
        "vi": "Máy chủ báo lỗi ({status}). Hãy thử lại sau.",
        "en": "The server answered with an error ({status}). Try again later.",
    },
    "page.review_retry": {"vi": "Thử lại", "en": "Try again"},
    "page.review_signed_out": {
        "vi": "Phiên đăng nhập đã hết hạn. Hãy tải lại trang để đăng nhập lại.",
        "en": "Your session has ended. Reload the page to sign in again.",
    },
    "page.review_bulk_button": {
        "vi": "Duyệt {n} phiếu không có cảnh báo",
        "en": "Approve {n} surveys without flags",
    },
    "page.review_bulk_waiting": {
        "vi": "{received} phiếu chờ duyệt, {unflagged} phiếu không có cảnh báo",
        "en": "{received} waiting, {unflagged} without flags",
    },
    "page.review_bulk_confirm": {
        "vi": "Duyệt {n} phiếu không có cảnh báo của khu dân cư {settlement}? "
        "Phiếu có cảnh báo vẫn ở lại để xem kỹ.",
        "en": "Approve the {n} surveys without flags of settlement {settlement}? "
        "Flagged surveys stay for a closer look.",
    },
    "page.review_bulk_done": {
        "vi": "Đã duyệt {n} phiếu của khu dân cư {settlement}.",
        "en": "Approved {n} surveys of settlement {settlement}.",
    },
    "page.review_bulk_unseen": {
        "vi": "{n} phiếu khác chưa hiện trên trang nên chưa được duyệt (bấm “Xem thêm "
        "phiếu” để xem).",
        "en": "{n} more are not shown on this page yet and are not approved (use “Show more "
        "surveys” to see them).",
    },
    "page.review_bulk_none_shown": {
        "vi": "Chưa có phiếu nào của khu dân cư này hiện trên trang: bấm “Xem thêm phiếu” để "
        "xem rồi duyệt.",
        "en": "No survey of this settlement is shown on the page yet: use “Show more surveys” "
        "to see them, then approve.",
    },
    "page.review_bulk_own": {
        "vi": "{n} phiếu do chính bạn thu thập nên chưa được duyệt: một trưởng phường khác hoặc "
        "quản trị thành phố sẽ duyệt.",
        "en": "{n} surveys you collected yourself were not approved: another ward leader or "
        "the city admin reviews them.",
    },
    "page.review_own": {
        "vi": "Phiếu do chính bạn thu thập: bạn không tự duyệt được. Một trưởng phường khác "
        "hoặc quản trị thành phố sẽ duyệt phiếu này.",
        "en": "You collected this survey: you cannot review it yourself. Another ward leader "
        "or the city admin reviews it.",
    },
    "page.review_bulk_changed": {
        "vi": "{n} phiếu đã thay đổi trong lúc bạn xem (được sửa, hoặc đã có người quyết "
        "định) nên chưa được duyệt; danh sách đã được tải lại.",
        "en": "{n} surveys changed while you were looking (corrected, or decided by someone "
        "else) and were not approved; the list has been loaded again.",
    },
    "page.review_changed": {
        "vi": "Phiếu này vừa được tình nguyện viên sửa (nay là phiên bản {version}) trong lúc "
        "bạn xem; quyết định chưa được ghi. Nội dung mới ở trên: xem lại rồi quyết định.",
        "en": "The volunteer corrected this survey while you were looking (it is now version "
        "{version}); your decision was not recorded. The new content is above: look at it, "
        "then decide.",
    },
    "page.review_changed_gone": {
        "vi": "Phiếu {name} đã thay đổi trong lúc bạn xem và không còn chờ duyệt.",
        "en": "Survey {name} changed while you were looking and no longer waits for review.",
    },
    "page.review_survey_gone": {
        "vi": "Phiếu {name} không còn nữa (đã bị xóa, hoặc không còn thuộc khu vực của bạn); "
        "quyết định của bạn chưa được ghi.",
        "en": "Survey {name} is no longer there (deleted, or no longer in your area); your "
        "decision was not recorded.",
    },
    "page.review_decided_gone": {
        "vi": "Phiếu {name} đã được người khác quyết định trong lúc bạn xem ({decision}); "
        "quyết định của bạn chưa được ghi.",
        "en": "Survey {name} was decided by someone else while you were looking ({decision}); "
        "your decision was not recorded.",
    },
    "page.review_decided_yours": {
        "vi": "Quyết định trước đó của bạn cho phiếu {name} đã được ghi ({decision}); quyết "
        "định sau chưa được ghi. Bấm “Đổi quyết định” nếu muốn đổi.",
        "en": "Your earlier decision on survey {name} was recorded ({decision}); your later "
        "one was not. Use “Change decision” to change it.",
    },
    "page.review_bulk_none": {
        "vi": "Không có khu dân cư nào còn phiếu chờ duyệt.",
        "en": "No settlement has surveys waiting for review.",
    },
    "page.review_outside_settlements": {
        "vi": "{n} phiếu chờ duyệt nằm ngoài các khu dân cư: hãy duyệt từng phiếu.",
        "en": "{n} waiting surveys lie outside any settlement: review them one by one.",
    },
    "page.review_gps": {"vi": "GPS ±{m} m", "en": "GPS ±{m} m"},
    "page.review_manual": {"vi": "vị trí đặt bằng tay", "en": "point placed by hand"},
    "page.review_show_on_map": {"vi": "Xem trên bản đồ", "en": "Show on the map"},
    "page.review_flags": {"vi": "Cảnh báo", "en": "Flags"},
    "page.review_no_volunteers": {
        "vi": "Chưa có phiếu nào ở phường này.",
        "en": "No survey in this ward yet.",
    },
    "page.flag.low_gps_accuracy": {"vi": "GPS kém chính xác", "en": "Low GPS accuracy"},
    "page.flag.outside_wards": {
        "vi": "Ngoài ranh giới các phường/xã",
        "en": "Outside every ward",
    },
    "page.flag.outside_cities": {"vi": "Ngoài các thành phố", "en": "Outside every city"},
    "page.flag.clock_skew": {"vi": "Đồng hồ điện thoại bị lệch", "en": "Phone clock was off"},
    "page.flag.possible_duplicate": {"vi": "Có thể trùng hộ", "en": "Possible duplicate"},
    "page.flag.contradiction": {"vi": "Câu trả lời mâu thuẫn", "en": "Contradictory answers"},
    "page.flag.late_upload": {"vi": "Gửi lên muộn", "en": "Sent late"},
    "page.flag.shape_self_intersects": {
        "vi": "Ranh giới tự cắt nhau",
        "en": "Boundary crosses itself",
    },
    "page.flag.outside_assigned_ward": {
        "vi": "Ngoài phường được giao",
        "en": "Outside the assigned ward",
    },
    "page.flag.outside_assigned_city": {
        "vi": "Ngoài thành phố được giao",
        "en": "Outside the assigned city",
    },
    # Hardening: input no survey may hold, requests no page may make
    "too_deep": {
        "vi": "Dữ liệu lồng nhau quá sâu (tối đa {max} cấp).",
        "en": "Nested too deeply (at most {max} levels).",
    },
    "too_many_values": {
        "vi": "Quá nhiều giá trị trong một phiếu (tối đa {max}).",
        "en": "Too many values in one survey (at most {max}).",
    },
    "invalid_unicode": {
        "vi": "Có ký tự không hợp lệ (mã Unicode lỗi) trong câu trả lời.",
        "en": "The answer contains an invalid character (broken Unicode).",
    },
    "json_required": {
        "vi": "Nội dung gửi lên phải là JSON (Content-Type: application/json).",
        "en": "The request body must be JSON (Content-Type: application/json).",
    },
    "cross_origin": {
        "vi": "Yêu cầu từ trang web khác bị từ chối.",
        "en": "Requests from another website are refused.",
    },
    "invalid_status": {
        "vi": "Trạng thái '{value}' không hợp lệ. Chọn một trong: {allowed}.",
        "en": "'{value}' is not a status. Choose one of: {allowed}.",
    },
    "attachment_not_in_survey": {
        "vi": "Phiếu không có tệp (ảnh, ghi âm, tài liệu) tên '{filename}'. Chỉ gửi được tệp "
        "mà phiếu đã ghi.",
        "en": "The survey has no file (photo, recording, document) named '{filename}'. "
        "Only the files a survey names can be sent.",
    },
    "too_many_attachments": {
        "vi": "Phiếu đã có đủ {max} ảnh; không nhận thêm.",
        "en": "The survey already has its {max} photos; no more are accepted.",
    },
    "attachment_too_large": {
        "vi": "Tệp {filename} quá lớn ({size_mb} MB; tối đa {max_mb} MB).",
        "en": "The file {filename} is too large ({size_mb} MB; at most {max_mb} MB).",
    },
    "attachments_too_large": {
        "vi": "Tổng dung lượng ảnh, ghi âm và tệp của phiếu vượt quá {max_mb} MB.",
        "en": "The survey's photos, recordings and files would exceed {max_mb} MB in total.",
    },
    # The printed ward map (app/geo/print_map.py)
    "print_map.title": {"vi": "{ward}, {city}", "en": "{ward}, {city}"},
    "print_map.subtitle": {
        "vi": "Bản đồ nâng cấp khu dân cư · {indicator} · số liệu đến ngày {date}",
        "en": "Settlement upgrading map · {indicator} · data as of {date}",
    },
    "print_map.priority": {"vi": "Điểm ưu tiên nâng cấp", "en": "Upgrading priority score"},
    "print_map.priority_legend": {"vi": "Điểm ưu tiên (0-100)", "en": "Priority score (0-100)"},
    "print_map.share_legend": {"vi": "% hộ: {label}", "en": "% households: {label}"},
    "print_map.no_data": {"vi": "Chưa có khảo sát", "en": "Not surveyed yet"},
    "print_map.no_answer": {"vi": "Không trả lời", "en": "No answer"},
    "print_map.no_settlements": {
        "vi": "Chưa có khu dân cư nào được vẽ ở khu vực này; đã khảo sát {households} hộ "
        "trong phường.",
        "en": "No settlement has been mapped in this area yet; {households} households "
        "surveyed in the ward.",
    },
    "print_map.households": {"vi": "Hộ gia đình đã khảo sát", "en": "Surveyed households"},
    "print_map.households_by": {"vi": "Hộ gia đình: {label}", "en": "Households: {label}"},
    "print_map.ward_boundary": {"vi": "Ranh giới phường", "en": "Ward boundary"},
    "print_map.table_title": {
        "vi": "Khu dân cư xếp theo điểm ưu tiên (% hộ thiếu từng điều kiện)",
        "en": "Settlements ranked by priority (% of households lacking each)",
    },
    "print_map.rank": {"vi": "Hạng", "en": "Rank"},
    "print_map.settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "print_map.hh": {"vi": "Số hộ", "en": "HH"},
    "print_map.score": {"vi": "Điểm", "en": "Score"},
    "print_map.more": {
        "vi": "… và {count} khu dân cư khác",
        "en": "… and {count} more settlements",
    },
    "print_map.notes": {"vi": "Ghi chú", "en": "Notes"},
    "print_map.source": {
        "vi": "Nguồn: khảo sát hộ gia đình do cộng đồng thực hiện (CDF map), {households} hộ; "
        "số liệu đến ngày {date}; in ngày {today}.",
        "en": "Source: community household survey (CDF map), {households} households; "
        "data as of {date}; printed {today}.",
    },
    "print_map.formula": {
        "vi": "Điểm ưu tiên = 100 × Σ(trọng số × tỷ lệ hộ thiếu) / Σ trọng số. "
        "Điểm chỉ hỗ trợ thảo luận, không tự quyết định.",
        "en": "Priority score = 100 × Σ(weight × share lacking) / Σ weights. "
        "The score supports a discussion; it never decides alone.",
    },
    "print_map.no_date": {"vi": "chưa có", "en": "none yet"},
    "print_map.north": {"vi": "B", "en": "N"},
    # The map of one settlement for its meeting (app/geo/settlement_print.py)
    "settlement_print.title": {"vi": "{settlement}", "en": "{settlement}"},
    "settlement_print.subtitle": {
        "vi": "{ward}, {city} · bản đồ khu dân cư: {indicator} · số liệu đến ngày {date}",
        "en": "{ward}, {city} · settlement map: {indicator} · data as of {date}",
    },
    "settlement_print.legend": {"vi": "Hộ gia đình: {question}", "en": "Households: {question}"},
    "settlement_print.no_answer": {"vi": "Không trả lời", "en": "No answer"},
    "settlement_print.numbers": {
        "vi": "Số trên bản đồ = số thứ tự trong bảng {count} hộ ở trang sau.",
        "en": "Numbers on the map = rows of the table of {count} households on the next pages.",
    },
    "settlement_print.figures": {
        "vi": "Số liệu của khu dân cư (%: tỷ lệ hộ thiếu)",
        "en": "The settlement's figures (%: share of households lacking)",
    },
    "settlement_print.indicator": {"vi": "Chỉ số", "en": "Indicator"},
    "settlement_print.value": {"vi": "Giá trị", "en": "Value"},
    "settlement_print.households": {"vi": "Số hộ đã khảo sát", "en": "Households surveyed"},
    "settlement_print.score": {"vi": "Điểm ưu tiên", "en": "Priority score"},
    "settlement_print.rank": {"vi": "Hạng trong phường", "en": "Rank in the ward"},
    "settlement_print.no_data": {"vi": "chưa có số liệu", "en": "no data"},
    "settlement_print.source": {
        "vi": "Nguồn: khảo sát hộ gia đình do cộng đồng thực hiện (CDF map), {households} hộ; "
        "số liệu đến ngày {date}; in ngày {today}.",
        "en": "Source: community household survey (CDF map), {households} households; "
        "data as of {date}; printed {today}.",
    },
    "settlement_print.table_title": {
        "vi": "Hộ gia đình đã khảo sát: {settlement}",
        "en": "Surveyed households: {settlement}",
    },
    "settlement_print.table_note": {
        "vi": "Theo thứ tự khảo sát. Có họ tên chủ hộ: chỉ dùng trong cuộc họp cộng đồng, "
        "không công bố.",
        "en": "In the order surveyed. With the heads of household's names: for the community "
        "meeting only, not for publication.",
    },
    "settlement_print.table_note_no_names": {
        "vi": "Theo thứ tự khảo sát. Không có họ tên.",
        "en": "In the order surveyed. Without names.",
    },
    "settlement_print.number": {"vi": "Số", "en": "No."},
    "settlement_print.name": {"vi": "Chủ hộ", "en": "Head of household"},
    "settlement_print.surveyed_on": {"vi": "Ngày khảo sát", "en": "Surveyed on"},
    "settlement_print.page": {"vi": "Trang {page}", "en": "Page {page}"},
    "settlement_print.no_households": {
        "vi": "Chưa có hộ nào trong khu dân cư này được khảo sát.",
        "en": "No household in this settlement has been surveyed yet.",
    },
    "settlement_print.numbers_grid": {
        "vi": "Quá nhiều hộ để ghi số trên bản đồ: bảng {count} hộ ở trang sau cho biết mỗi hộ "
        "nằm trong ô nào (ô {side} m, chữ ở mép trên, số ở mép trái bản đồ).",
        "en": "Too many households to number on the map: the table of {count} households on "
        "the next pages gives each one's square ({side} m squares, letters along the map's "
        "top, numbers down its left side).",
    },
    "settlement_print.square": {"vi": "Ô", "en": "Square"},
    "settlement_print.square_note": {
        "vi": "Ô: ô lưới trên bản đồ nơi có hộ.",
        "en": "Square: the map's grid square where the household is.",
    },
    "print_names_not_allowed": {
        "vi": "Vai trò của bạn không được xem họ tên hộ gia đình; hãy in bản đồ không có họ tên "
        "(bỏ names=true).",
        "en": "Your role may not see household names; print the map without names "
        "(leave out names=true).",
    },
    # The interactive map pages (app/geo/web_map.py)
    "web_map.wards": {"vi": "Ranh giới phường/xã", "en": "Ward boundaries"},
    "web_map.settlements": {
        "vi": "Khu dân cư theo điểm ưu tiên",
        "en": "Settlements by priority score",
    },
    "web_map.households": {"vi": "Hộ gia đình", "en": "Households"},
    "web_map.basemap": {"vi": "Nền bản đồ", "en": "Background map"},
    "web_map.priority": {
        "vi": "Điểm ưu tiên nâng cấp (0-100)",
        "en": "Upgrading priority score (0-100)",
    },
    "web_map.no_data": {"vi": "Chưa có khảo sát", "en": "Not surveyed yet"},
    "web_map.no_data_or_withheld": {
        "vi": "Chưa có khảo sát, hoặc quá ít hộ để công bố",
        "en": "Not surveyed yet, or too few households to publish",
    },
    "web_map.labels": {"vi": "Tên khu dân cư", "en": "Settlement names"},
    "web_map.legend_show": {"vi": "Chú giải", "en": "Legend"},
    "web_map.legend_hide": {"vi": "Ẩn chú giải", "en": "Hide legend"},
    "web_map.zoom_in_for_households": {
        "vi": "Phóng to bản đồ để thấy từng hộ.",
        "en": "Zoom in to see each household.",
    },
    "web_map.no_answer": {"vi": "Không trả lời", "en": "No answer"},
    "web_map.no_settlements": {
        "vi": "Chưa có khu dân cư nào được vẽ ở khu vực này.",
        "en": "No settlement has been mapped in this area yet.",
    },
    "web_map.note": {
        "vi": "Điểm ưu tiên chỉ hỗ trợ thảo luận với cộng đồng; xem tỷ lệ từng chỉ số "
        "trong cửa sổ thông tin của khu dân cư.",
        "en": "The score supports a community discussion; click a settlement for the share "
        "of households with each deficiency.",
    },
    # Titles and popups of the map pages (app/services/maps.py)
    "map_page.city_title": {
        "vi": "Bản đồ nâng cấp khu dân cư: {city}",
        "en": "Settlement upgrading map: {city}",
    },
    "map_page.ward_title": {
        "vi": "Bản đồ nâng cấp khu dân cư: {ward}, {city}",
        "en": "Settlement upgrading map: {ward}, {city}",
    },
    "map_page.subtitle": {
        "vi": "{households} hộ đã khảo sát · số liệu đến ngày {date}",
        "en": "{households} households surveyed · data as of {date}",
    },
    "map_page.no_date": {"vi": "chưa có", "en": "none yet"},
    "map_page.name": {"vi": "Khu dân cư", "en": "Settlement"},
    "map_page.ward": {"vi": "Phường/xã", "en": "Ward"},
    "map_page.households": {"vi": "Số hộ đã khảo sát", "en": "Households surveyed"},
    "map_page.score": {"vi": "Điểm ưu tiên", "en": "Priority score"},
    "map_page.rank_in_ward": {"vi": "Hạng trong phường", "en": "Rank in ward"},
    "map_page.withheld": {
        "vi": "Không công bố: dưới {min} hộ (để không lộ câu trả lời của từng hộ)",
        "en": "Not published: under {min} households (so no household's answers show)",
    },
    "map_page.rank_in_city": {"vi": "Hạng trong thành phố", "en": "Rank in city"},
    "map_page.not_found": {"vi": "Không tìm thấy bản đồ", "en": "Map not found"},
    # --- CDF upgrading projects (app/services/cdf_projects.py, the maps' project layer)
    "cdf_project_not_found": {
        "vi": "Không tìm thấy dự án số {id}.",
        "en": "Project {id} was not found.",
    },
    "project_amount_not_integer": {
        "vi": "Số tiền phải là số nguyên đồng (không có phần thập phân, không viết trong ngoặc "
        "kép), ví dụ 15000000.",
        "en": "An amount must be a whole number of đồng (no decimals, not in quotes), for "
        "example 15000000.",
    },
    "project_amount_negative": {
        "vi": "Số tiền không được âm.",
        "en": "An amount cannot be negative.",
    },
    "project_amount_too_large": {
        "vi": "Số tiền quá lớn (tối đa {max} đồng).",
        "en": "The amount is too large (at most {max} đồng).",
    },
    "project_unknown_source": {
        "vi": "Không có nguồn vốn '{value}'. Chọn một trong: {allowed}.",
        "en": "There is no funding source '{value}'. Choose one of: {allowed}.",
    },
    "project_households_invalid": {
        "vi": "Số hộ hưởng lợi phải là số nguyên từ 0 đến {max}.",
        "en": "Households benefiting must be a whole number from 0 to {max}.",
    },
    "project_name_required": {
        "vi": "Hãy đặt tên cho dự án.",
        "en": "Give the project a name.",
    },
    "project_dates_order": {
        "vi": "Ngày kết thúc phải sau ngày bắt đầu.",
        "en": "The end date must not be before the start date.",
    },
    "project_settlement_unknown": {
        "vi": "Thành phố này không có khu dân cư số {id}.",
        "en": "This city has no settlement {id}.",
    },
    "project_geometry_type": {
        "vi": "Vị trí phải là một điểm, một đường hoặc một vùng GeoJSON (Point, LineString, "
        "Polygon) theo kinh độ, vĩ độ.",
        "en": "The location must be a GeoJSON point, line or area (Point, LineString, "
        "Polygon) in longitude, latitude.",
    },
    "project_geometry_invalid": {
        "vi": "Hình vẽ của dự án không hợp lệ ({reason}).",
        "en": "The project's shape is not valid ({reason}).",
    },
    "project_geometry_too_large": {
        "vi": "Hình vẽ có quá nhiều điểm (tối đa {max}).",
        "en": "The shape has too many points (at most {max}).",
    },
    "project_outside_vietnam": {
        "vi": "Vị trí nằm ngoài Việt Nam: kiểm tra thứ tự kinh độ, vĩ độ.",
        "en": "The location is outside Vietnam: check the order of longitude and latitude.",
    },
    "project_outside_ward": {
        "vi": "Vị trí nằm ngoài phường/xã của khu dân cư {settlement}.",
        "en": "The location is outside the ward of settlement {settlement}.",
    },
    "project_code_taken": {
        "vi": "Thành phố đã có dự án mã '{value}'.",
        "en": "The city already has a project with code '{value}'.",
    },
    "project_not_editable": {
        "vi": "Chỉ sửa được: {allowed}.",
        "en": "Only these may be changed: {allowed}.",
    },
    "too_many_project_photos": {
        "vi": "Dự án đã có đủ {max} ảnh cho giai đoạn này.",
        "en": "The project already has {max} photos of this phase.",
    },
    "project_photo_conflict": {
        "vi": "Dự án đã có một ảnh khác tên '{filename}'. Ảnh đã lưu không bị thay đổi; hãy đặt "
        "tên khác cho ảnh mới.",
        "en": "The project already has a different photo named '{filename}'. The stored photo "
        "was not changed; give the new photo another name.",
    },
    "cdf_project.kind.lane_paving": {"vi": "Lát ngõ, hẻm", "en": "Lane paving"},
    "cdf_project.kind.drain": {"vi": "Mương thoát nước", "en": "Drain"},
    "cdf_project.kind.water": {"vi": "Cấp nước", "en": "Water supply"},
    "cdf_project.kind.toilets": {"vi": "Nhà vệ sinh", "en": "Toilets"},
    "cdf_project.kind.community_centre": {
        "vi": "Nhà sinh hoạt cộng đồng",
        "en": "Community centre",
    },
    "cdf_project.kind.house_repair": {"vi": "Sửa chữa nhà", "en": "House repair"},
    "cdf_project.status.proposed": {"vi": "Đề xuất", "en": "Proposed"},
    "cdf_project.status.approved": {"vi": "Đã duyệt", "en": "Approved"},
    "cdf_project.status.building": {"vi": "Đang thi công", "en": "Under way"},
    "cdf_project.status.done": {"vi": "Hoàn thành", "en": "Done"},
    "cdf_project.source.cdf_loan": {"vi": "Vốn vay Quỹ CDF", "en": "CDF loan"},
    "cdf_project.source.grant": {"vi": "Tài trợ", "en": "Grant"},
    "cdf_project.source.community": {"vi": "Cộng đồng đóng góp", "en": "Community contribution"},
    "cdf_project.source.city": {"vi": "Thành phố hỗ trợ", "en": "City contribution"},
    "cdf_project.layer": {"vi": "Dự án nâng cấp (Quỹ CDF)", "en": "Upgrading projects (CDF)"},
    "cdf_project.legend": {
        "vi": "Dự án nâng cấp, theo tình trạng",
        "en": "Upgrading projects, by status",
    },
    "cdf_project.name": {"vi": "Dự án", "en": "Project"},
    "cdf_project.kind": {"vi": "Loại", "en": "Kind"},
    "cdf_project.status": {"vi": "Tình trạng", "en": "Status"},
    "cdf_project.settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "cdf_project.budget": {"vi": "Tổng vốn (đồng)", "en": "Budget (đồng)"},
    "cdf_project.households": {"vi": "Số hộ hưởng lợi", "en": "Households benefiting"},
    "cdf_project.leverage": {
        "vi": "Vốn khác trên 1 đồng CDF",
        "en": "Other money per CDF đồng",
    },
    "cdf_project.rank": {"vi": "Hạng ưu tiên của khu", "en": "Settlement's priority rank"},
    "cdf_project.dates": {"vi": "Thời gian", "en": "Dates"},
    "cdf_project.no_cdf_money": {"vi": "không vay CDF", "en": "no CDF money"},
    # Savings groups on the maps (app/services/cdf_groups_map.py, app/geo/cdf_groups.py)
    "cdf_groups.layer": {
        "vi": "Nhóm tiết kiệm (Quỹ CDF)",
        "en": "Savings groups (CDF)",
    },
    "cdf_groups.legend": {
        "vi": "Nhóm tiết kiệm theo khu dân cư, màu theo PAR30",
        "en": "Savings groups by settlement, coloured by PAR30",
    },
    "cdf_groups.unplaced": {
        "vi": "Không có trên bản đồ: {groups} nhóm chưa gắn với khu dân cư nào ({members} thành "
        "viên, tiết kiệm {savings} đồng); báo cáo CDF có tính các nhóm này.",
        "en": "Not on the map, with no settlement: groups {groups}, members {members}, savings "
        "{savings} đồng; the CDF report counts them.",
    },
    "cdf_groups.size_note": {
        "vi": "Vòng tròn càng lớn, càng nhiều thành viên.",
        "en": "The larger the circle, the more members.",
    },
    "cdf_groups.par.no_loans": {"vi": "Chưa có dư nợ", "en": "No loans outstanding"},
    "cdf_groups.par.none": {"vi": "Không nợ quá hạn trên 30 ngày", "en": "None over 30 days late"},
    "cdf_groups.par.low": {"vi": "PAR30 đến 10 %", "en": "PAR30 up to 10 %"},
    "cdf_groups.par.high": {"vi": "PAR30 trên 10 %", "en": "PAR30 over 10 %"},
    "cdf_groups.settlement": {"vi": "Khu dân cư", "en": "Settlement"},
    "cdf_groups.group_names": {"vi": "Nhóm tiết kiệm", "en": "Savings groups"},
    "cdf_groups.groups": {"vi": "Số nhóm", "en": "Groups"},
    "cdf_groups.members": {"vi": "Thành viên", "en": "Members"},
    "cdf_groups.savings": {"vi": "Số dư tiết kiệm (đồng)", "en": "Savings balance (đồng)"},
    "cdf_groups.loans_outstanding": {"vi": "Dư nợ gốc (đồng)", "en": "Loans outstanding (đồng)"},
    "cdf_groups.par30_text": {
        "vi": "PAR30 (quá hạn trên 30 ngày)",
        "en": "PAR30 (over 30 days late)",
    },
    "cdf_groups.no_loans": {"vi": "không có dư nợ", "en": "no loans"},
    "print_map.groups_symbol": {
        "vi": "Nhóm tiết kiệm (vòng tròn lớn = nhiều thành viên)",
        "en": "Savings groups (larger circle = more members)",
    },
    "print_map.projects_title": {
        "vi": "Dự án nâng cấp và mức ưu tiên của khu dân cư",
        "en": "Upgrading projects and the settlements' priority",
    },
    "print_map.projects_symbol": {
        "vi": "Dự án nâng cấp (số = dòng trong bảng; tô đen = hoàn thành)",
        "en": "Upgrading project (number = table row; filled = done)",
    },
    "print_map.project_no": {"vi": "Số", "en": "No."},
    "print_map.project_rank": {"vi": "Hạng ưu tiên", "en": "Priority rank"},
    "print_map.project_leverage": {"vi": "Vốn khác / CDF", "en": "Other / CDF"},
    "print_map.projects_more": {
        "vi": "… và {count} dự án khác (xem danh sách trên máy).",
        "en": "… and {count} more projects (see the list online).",
    },
    "prints_busy": {
        "vi": "Máy chủ đang in nhiều bản đồ cùng lúc. Hãy thử lại sau ít giây.",
        "en": "The server is printing many maps at once. Try again in a few seconds.",
    },
    # --- Boundary import and the admin page (app/geo/boundary_files.py,
    # app/services/boundaries.py, app/api/boundaries.py, app/api/admin_page.py, static/admin)
    "boundary_row": {
        "vi": "{file}, dòng {row} (mã {feature}):",
        "en": "{file}, row {row} (code {feature}):",
    },
    "boundary_more_problems": {
        "vi": "… và {count} lỗi khác.",
        "en": "… and {count} more problems.",
    },
    "boundary_format": {
        "vi": "Không đọc được tệp '{file}': chỉ nhận GeoJSON (.geojson, .json), GeoPackage (.gpkg) "
        "hoặc Shapefile (.shp cùng .shx, .dbf, .prj; hoặc tất cả nén trong một tệp .zip).",
        "en": "Cannot read '{file}': only GeoJSON (.geojson, .json), GeoPackage (.gpkg) or "
        "Shapefile (.shp with its .shx, .dbf, .prj; or all of them in one .zip) are accepted.",
    },
    "boundary_no_file": {"vi": "Không có tệp '{file}'.", "en": "There is no file '{file}'."},
    "boundary_not_format": {
        "vi": "Tệp '{file}' không phải {format} như tên tệp cho biết.",
        "en": "'{file}' is not a {format} file, as its name says.",
    },
    "boundary_geojson_type": {
        "vi": "Tệp '{file}' là JSON nhưng không phải GeoJSON: \"type\" ở đầu tệp phải là "
        "FeatureCollection, Feature hoặc một hình học.",
        "en": "'{file}' is JSON but not GeoJSON: its \"type\" must be FeatureCollection, "
        "Feature or a geometry.",
    },
    "boundary_geojson_crs": {
        "vi": "Tệp '{file}' ghi hệ tọa độ bằng một đường liên kết; máy chủ không tải liên kết. "
        'Hãy ghi tên hệ tọa độ (ví dụ urn:ogc:def:crs:EPSG::9210) hoặc xóa mục "crs" và '
        "chọn hệ tọa độ khi tải lên.",
        "en": "'{file}' gives its coordinate system as a link, which the server does not "
        'follow. Name the system (e.g. urn:ogc:def:crs:EPSG::9210), or remove "crs" and '
        "choose the system when uploading.",
    },
    "boundary_part_not_format": {
        "vi": "Trong '{file}', tệp '{part}' không phải {format} như tên tệp cho biết.",
        "en": "In '{file}', '{part}' is not a {format} file, as its name says.",
    },
    "boundary_gpkg_not_table": {
        "vi": "GeoPackage '{file}' có '{layer}' là view hoặc bảng ảo, không phải bảng thường. "
        "Hãy lưu lớp thành bảng (QGIS: Xuất > Lưu đối tượng thành…) rồi gửi lại.",
        "en": "The GeoPackage '{file}' holds '{layer}', a view or virtual table, not a plain "
        "table. Save the layer as a table (QGIS: Export > Save Features As…) and send it again.",
    },
    "boundary_gpkg_trigger": {
        "vi": "GeoPackage '{file}' có trigger '{trigger}' không chuẩn. Hãy lưu lớp sang một "
        "GeoPackage mới (QGIS: Xuất > Lưu đối tượng thành…) rồi gửi lại.",
        "en": "The GeoPackage '{file}' holds a non-standard trigger '{trigger}'. Save the "
        "layer to a new GeoPackage (QGIS: Export > Save Features As…) and send it again.",
    },
    "boundary_gpkg_too_many_layers": {
        "vi": "GeoPackage '{file}' có hơn {max} lớp. Hãy gửi tệp chỉ có lớp ranh giới.",
        "en": "The GeoPackage '{file}' has more than {max} layers. Send a file holding the "
        "boundary layer only.",
    },
    "boundary_nul": {
        "vi": "Tệp '{file}' có ký tự NUL (\\u0000) trong một tên hoặc giá trị; hãy xóa ký tự đó.",
        "en": "'{file}' holds a NUL character (\\u0000) in a name or value; remove it.",
    },
    "boundary_unreadable": {
        "vi": "Không đọc được tệp '{file}': tệp bị hỏng hoặc không đúng định dạng. Chi tiết kỹ "
        "thuật (tiếng Anh, để gửi cho người hỗ trợ): {reason}",
        "en": "Cannot read '{file}': the file is damaged or not in its format. Technical "
        "detail: {reason}",
    },
    "boundary_bad_zip": {
        "vi": "Tệp '{file}' không phải là tệp ZIP đọc được (có thể bị hỏng hoặc tải lên chưa "
        "hết): hãy nén lại các tệp Shapefile (.shp, .shx, .dbf, .prj) rồi tải lên lần nữa.",
        "en": "'{file}' is not a ZIP file that can be read (damaged, or not uploaded whole): "
        "zip the Shapefile's files (.shp, .shx, .dbf, .prj) again and upload it again.",
    },
    "boundary_zip_unsupported": {
        "vi": "Tệp ZIP '{file}' được nén theo cách không hỗ trợ hoặc có mật khẩu: hãy nén lại "
        "bằng kiểu nén thông thường (Deflate), không đặt mật khẩu.",
        "en": "The ZIP file '{file}' uses a compression method that is not supported, or a "
        "password: zip it again with the usual method (Deflate) and no password.",
    },
    "boundary_gpkg_damaged": {
        "vi": "Tệp GeoPackage '{file}' bị hỏng, không đọc được: hãy xuất lại từ QGIS rồi tải "
        "lên. Chi tiết kỹ thuật (tiếng Anh): {reason}",
        "en": "The GeoPackage '{file}' is damaged and cannot be read: export it again from "
        "QGIS and upload it. Technical detail: {reason}",
    },
    "boundary_zip_too_large": {
        "vi": "Tệp nén '{file}' giải nén ra quá lớn.",
        "en": "The zip '{file}' is too large once unpacked.",
    },
    "boundary_zip_no_shapefile": {
        "vi": "Tệp nén '{file}' không có Shapefile (.shp) nào.",
        "en": "The zip '{file}' holds no Shapefile (.shp).",
    },
    "boundary_shapefile_parts": {
        "vi": "Shapefile '{file}' thiếu tệp đi kèm: {missing}. Gửi .shp cùng .shx, .dbf và .prj "
        "(có thể nén chung trong một tệp .zip).",
        "en": "The Shapefile '{file}' lacks {missing}. Send the .shp with its .shx, .dbf and .prj "
        "(zipped together if you like).",
    },
    "boundary_choose_layer": {
        "vi": "Tệp '{file}' có nhiều lớp: {layers}. Hãy chọn một lớp.",
        "en": "'{file}' has several layers: {layers}. Choose one.",
    },
    "boundary_no_layer": {
        "vi": "Tệp '{file}' không có lớp '{layer}'. Các lớp có trong tệp: {layers}.",
        "en": "'{file}' has no layer '{layer}'. Its layers: {layers}.",
    },
    "boundary_empty": {
        "vi": "Tệp '{file}' không có đối tượng nào.",
        "en": "'{file}' has no features.",
    },
    "boundary_too_many": {
        "vi": "Tệp '{file}' có hơn {max} đối tượng.",
        "en": "'{file}' has more than {max} features.",
    },
    "boundary_no_crs": {
        "vi": "Tệp '{file}' không ghi hệ tọa độ (Shapefile thiếu tệp .prj?). Hãy cho biết hệ tọa "
        "độ, ví dụ EPSG:9210 (VN-2000), EPSG:32648 hoặc EPSG:32649 (UTM 48N/49N), EPSG:4326 "
        "(kinh độ, vĩ độ).",
        "en": "'{file}' does not say its coordinate system (a Shapefile without its .prj?). Name "
        "it, e.g. EPSG:9210 (VN-2000), EPSG:32648 or EPSG:32649 (UTM 48N/49N), EPSG:4326 "
        "(longitude, latitude).",
    },
    "boundary_unknown_crs": {
        "vi": "Không biết hệ tọa độ '{crs}'. Dùng mã EPSG, ví dụ EPSG:9210 hoặc EPSG:32649.",
        "en": "Unknown coordinate system '{crs}'. Use an EPSG code, e.g. EPSG:9210 or EPSG:32649.",
    },
    "boundary_no_code_field": {
        "vi": "Tệp '{file}' không có cột mã '{field}'. Các cột: {fields}. Hãy chọn cột mã.",
        "en": "'{file}' has no code column '{field}'. Its columns: {fields}. Choose the "
        "code column.",
    },
    "boundary_no_name_field": {
        "vi": "Tệp '{file}' không có cột tên '{field}'. Các cột: {fields}. Hãy chọn cột tên.",
        "en": "'{file}' has no name column '{field}'. Its columns: {fields}. Choose the "
        "name column.",
    },
    "boundary_empty_code": {"vi": "thiếu mã (cột {field}).", "en": "no code (column {field})."},
    "boundary_bad_code": {
        "vi": "mã (cột {field}) dài quá {max} ký tự hoặc có ký tự không hợp lệ.",
        "en": "the code (column {field}) is longer than {max} characters or has an invalid "
        "character.",
    },
    "boundary_duplicate_code": {
        "vi": "mã này trùng với dòng {first}; mỗi mã chỉ được dùng một lần.",
        "en": "the same code as row {first}; each code must be used once.",
    },
    "boundary_empty_name": {"vi": "thiếu tên (cột {field}).", "en": "no name (column {field})."},
    "boundary_bad_name": {
        "vi": "tên (cột {field}) dài quá {max} ký tự hoặc có ký tự không hợp lệ.",
        "en": "the name (column {field}) is longer than {max} characters or has an invalid "
        "character.",
    },
    "boundary_bad_text": {
        "vi": "cột {field} có ký tự không hợp lệ (NUL).",
        "en": "column {field} holds an invalid character (NUL).",
    },
    "boundary_not_whole_number": {
        "vi": "cột {field} phải là số nguyên (nhận được '{value}').",
        "en": "column {field} must be a whole number (got '{value}').",
    },
    "boundary_no_geometry": {"vi": "không có hình học.", "en": "no geometry."},
    "boundary_not_polygon": {
        "vi": "cần một vùng (polygon), nhưng đây là {type}.",
        "en": "a polygon is needed, this is a {type}.",
    },
    "boundary_invalid": {
        "vi": "hình học không hợp lệ ({reason}) và không sửa được thành một vùng.",
        "en": "an invalid geometry ({reason}) that cannot be repaired into a polygon.",
    },
    "boundary_no_area": {"vi": "vùng có diện tích bằng 0.", "en": "the polygon has no area."},
    "boundary_settlement_parts": {
        "vi": "một khu dân cư phải là một vùng liền, vùng này có {parts} phần.",
        "en": "a settlement must be one polygon; this one has {parts} parts.",
    },
    "boundary_repaired": {
        "vi": "hình học không hợp lệ ({reason}) đã được sửa tự động; hãy xem lại trên bản đồ.",
        "en": "an invalid geometry ({reason}) was repaired; check it on the map.",
    },
    "boundary_too_many_vertices": {
        "vi": "Tệp '{file}' có {count} đỉnh, quá {max}: hãy đơn giản hóa ranh giới (ví dụ "
        "QGIS: Vector › Công cụ hình học › Đơn giản hóa) rồi nhập lại.",
        "en": "'{file}' has {count} vertices, more than {max}: simplify the boundaries (e.g. "
        "QGIS: Vector › Geometry Tools › Simplify) and import again.",
    },
    "boundary_not_a_number": {
        "vi": "có tọa độ không phải là số (NaN hoặc vô cực).",
        "en": "has coordinates that are not numbers (NaN or infinity).",
    },
    "boundary_crs_not_convertible": {
        "vi": "Không đổi được hệ tọa độ {crs} của tệp '{file}' sang kinh độ, vĩ độ (WGS 84): "
        "hệ tọa độ này không gắn với Trái Đất. Hãy xuất lại tệp theo VN-2000 (EPSG:9210), UTM "
        "hoặc WGS 84.",
        "en": "The coordinate system {crs} of '{file}' cannot be turned into longitude and "
        "latitude (WGS 84): it is not tied to the Earth. Export the file again in VN-2000 "
        "(EPSG:9210), UTM or WGS 84.",
    },
    "boundary_out_of_range": {
        "vi": "tọa độ nằm ngoài kinh độ -180…180, vĩ độ -90…90 khi đọc theo hệ tọa độ {crs}. "
        "Hãy kiểm tra hệ tọa độ của tệp.",
        "en": "coordinates beyond longitude -180…180, latitude -90…90 when read in {crs}. Check "
        "the file's coordinate system.",
    },
    "boundary_all_out_of_range": {
        "vi": "Tọa độ của tệp '{file}' nằm ngoài kinh độ -180…180, vĩ độ -90…90 khi đọc theo hệ "
        "tọa độ {crs}: có lẽ hệ tọa độ bị sai (tọa độ tính bằng mét của VN-2000 hay UTM?). Hãy "
        "chọn đúng hệ, ví dụ EPSG:9210 (VN-2000) hoặc EPSG:32649 (UTM 49N).",
        "en": "The coordinates of '{file}' are beyond longitude -180…180, latitude -90…90 when "
        "read in {crs}: the coordinate system is likely wrong (metres of VN-2000 or UTM?). Name "
        "the right one, e.g. EPSG:9210 (VN-2000) or EPSG:32649 (UTM 49N).",
    },
    "boundary_far_from_vietnam": {
        "vi": "Tệp '{file}' nằm xa Việt Nam (kinh độ {west}…{east}, vĩ độ {south}…{north}) khi đọc "
        "theo hệ tọa độ {crs}. Có lẽ hệ tọa độ bị sai: hãy chọn đúng hệ, ví dụ EPSG:9210 "
        "(VN-2000) hoặc EPSG:32649 (UTM 49N).",
        "en": "'{file}' lies far from Vietnam (longitude {west}…{east}, latitude {south}…{north}) "
        "when read in {crs}. The coordinate system is likely wrong: name the right one, e.g. "
        "EPSG:9210 (VN-2000) or EPSG:32649 (UTM 49N).",
    },
    "boundary_feature_far": {
        "vi": "nằm xa Việt Nam khi đọc theo hệ tọa độ {crs}.",
        "en": "lies far from Vietnam when read in {crs}.",
    },
    "boundary_outside_vietnam": {
        "vi": "Một phần tệp '{file}' nằm ngoài Việt Nam (kinh độ {west}…{east}, vĩ độ "
        "{south}…{north}, hệ tọa độ {crs}); hãy kiểm tra trên bản đồ.",
        "en": "Part of '{file}' lies outside Vietnam (longitude {west}…{east}, latitude "
        "{south}…{north}, read in {crs}); check it on the map.",
    },
    "boundary_crs_area": {
        "vi": "Tệp '{file}' nằm ngoài vùng dùng hệ tọa độ {crs} ({area}); nếu ranh giới lệch "
        "trên bản đồ, hãy chọn đúng múi VN-2000 hoặc UTM.",
        "en": "'{file}' lies outside the area {crs} is meant for ({area}); if the boundaries "
        "look shifted on the map, name the right VN-2000 or UTM zone.",
    },
    "boundary_crs_not_applied": {
        "vi": "Tệp '{file}' tự ghi hệ tọa độ {own} và được đọc theo hệ đó, không theo {crs} đã "
        "chọn: hệ tọa độ chọn khi nhập chỉ dùng cho tệp không ghi hệ nào. Nếu hệ ghi trong tệp "
        "sai, hãy sửa tệp (ví dụ tệp .prj của Shapefile).",
        "en": "'{file}' names its own coordinate system, {own}, and was read in it, not in "
        "{crs} as given: a coordinate system given for an import is only for files that name "
        "none. If the file's own is wrong, correct the file (a Shapefile's .prj, say).",
    },
    "boundary_text_read_as_utf8": {
        "vi": "Tệp '{file}' không có tệp .cpg cho biết bảng mã của bảng thuộc tính (.dbf); chữ "
        "trong đó hợp lệ theo UTF-8 nên đã được đọc theo UTF-8. Hãy xem lại tên trên bản đồ.",
        "en": "'{file}' has no .cpg file naming the encoding of its table (.dbf); its text is "
        "valid UTF-8 and was read as UTF-8. Check the names on the map.",
    },
    "boundary_text_read_as_cp1258": {
        "vi": "Tệp '{file}' không có tệp .cpg cho biết bảng mã của bảng thuộc tính (.dbf) và "
        "chữ trong đó không phải UTF-8: đã đọc theo Windows-1258 (tiếng Việt). Nếu tên hiển "
        "thị sai (tệp dùng TCVN3/ABC hoặc VNI), hãy thêm tệp .cpg ghi đúng bảng mã hoặc lưu "
        "lại tệp theo UTF-8.",
        "en": "'{file}' has no .cpg file naming the encoding of its table (.dbf), and its text "
        "is not UTF-8: it was read as Windows-1258 (Vietnamese). If the names look wrong (a "
        "table in TCVN3/ABC or VNI), add a .cpg file naming its encoding, or save it as UTF-8.",
    },
    "boundary_text_encoding_unknown": {
        "vi": "Chữ trong bảng thuộc tính (.dbf) của tệp '{file}' không phải UTF-8 cũng không "
        "phải Windows-1258, và không có tệp .cpg cho biết bảng mã. Hãy thêm tệp .cpg ghi bảng "
        "mã (ví dụ 1252) hoặc lưu lại tệp theo UTF-8.",
        "en": "The text of the table (.dbf) of '{file}' is neither UTF-8 nor Windows-1258, and "
        "no .cpg file names its encoding. Add a .cpg file naming it (e.g. 1252), or save the "
        "file as UTF-8.",
    },
    "boundary_column_kept_as_text": {
        "vi": "Cột '{column}' của tệp '{file}' có dòng là JSON, có dòng không: cột được giữ "
        "dạng chữ.",
        "en": "Column '{column}' of '{file}' holds JSON in some rows and not in others: it was "
        "kept as text.",
    },
    "boundary_reader_note": {
        "vi": "Ghi chú khi đọc tệp '{file}': {note}",
        "en": "A note on reading '{file}': {note}",
    },
    "boundary_unknown_ward_code": {
        "vi": "{count} khu dân cư trong tệp '{file}' ghi mã phường/xã mà thành phố không có, "
        "nên được gán vào phường/xã chứa khu (nếu có): {settlements}. Hãy kiểm tra cột mã "
        "phường/xã.",
        "en": "{count} settlements in '{file}' name a ward code no ward of the city has, and "
        "were given the ward they lie in (if any): {settlements}. Check the ward code column.",
    },
    "boundary_kept_wards": {
        "vi": "{count} phường/xã đã lưu trước đây không có trong tệp '{file}' và được giữ lại: "
        "{codes}.",
        "en": "{count} wards stored before are not in '{file}' and were kept: {codes}.",
    },
    "boundary_settlements_outside_wards": {
        "vi": "{count} khu dân cư trong tệp '{file}' không nằm trong phường/xã nào: {codes}. "
        "Hộ khảo sát ở đó vẫn được tính cho thành phố và bản đồ họp của các khu này vẫn in được "
        "(cho cán bộ quy hoạch và quản trị thành phố), nhưng các khu này không có trong bản đồ "
        "phường nào và không trưởng khu phố / phường nào xem được. Hãy kiểm tra ranh giới "
        "phường/xã.",
        "en": "{count} settlements in '{file}' lie in no ward: {codes}. Their households "
        "count in the city and their meeting maps still print (for the city's planners and "
        "admins), but these settlements are on no ward's map and no ward leader sees them. "
        "Check the ward boundaries.",
    },
    "boundary_kept_settlements": {
        "vi": "{count} khu dân cư đã lưu trước đây không có trong tệp '{file}' và được giữ lại: "
        "{codes}.",
        "en": "{count} settlements stored before are not in '{file}' and were kept: {codes}.",
    },
    "boundary_ward_in_other_city": {
        "vi": "phường/xã '{name}' chồng lên phường/xã '{other}' (mã {other_code}) của {city} "
        "({slug}) khoảng {area} m², sâu quá {reach} m vào thành phố đó. Ranh giới hai thành phố "
        "không được chồng lên nhau (chỉ chấp nhận phần lệch dưới {reach} m dọc đường ranh giới "
        "chung): hãy sửa đường ranh giới này hoặc của thành phố kia.",
        "en": "ward '{name}' overlaps ward '{other}' (code {other_code}) of {city} ({slug}) by "
        "about {area} m², reaching more than {reach} m into that city. Two cities' boundaries "
        "must not overlap (only a sliver under {reach} m along a shared border is accepted): "
        "correct this line or the other city's.",
    },
    "boundary_settlement_in_other_city": {
        "vi": "khu dân cư '{name}' chồng lên phường/xã '{other}' (mã {other_code}) của {city} "
        "({slug}) khoảng {area} m², sâu quá {reach} m vào thành phố đó. Khu dân cư phải nằm "
        "trong thành phố của mình (chỉ chấp nhận phần lệch dưới {reach} m dọc đường ranh giới): "
        "hãy sửa ranh giới khu dân cư.",
        "en": "settlement '{name}' overlaps ward '{other}' (code {other_code}) of {city} ({slug}) "
        "by about {area} m², reaching more than {reach} m into that city. A settlement must lie "
        "in its own city (only a sliver under {reach} m along the border is accepted): correct "
        "the settlement's boundary.",
    },
    "boundary_ward_takes_other_city_surveys": {
        "vi": "phường/xã '{name}' chứa hộ đã khảo sát của một thành phố khác, nằm ngoài các "
        "phường/xã của thành phố đó. Nhập ranh giới này sẽ chuyển các hộ đó sang thành phố của "
        "bạn: chỉ quản trị viên quốc gia được làm việc này. Hãy sửa đường ranh giới hoặc nhờ "
        "quản trị viên quốc gia nhập.",
        "en": "ward '{name}' holds households surveyed for another city, outside that city's "
        "wards. Importing it would move them to your city: only a national admin may do that. "
        "Correct the line or ask a national admin to import it.",
    },
    "boundary_city_name_required": {
        "vi": "Thành phố mới cần có tên.",
        "en": "A new city needs a name.",
    },
    "boundary_file_required": {
        "vi": "Cần gửi tệp ranh giới phường/xã (trường '{field}' là một tệp).",
        "en": "The ward boundaries file is needed (field '{field}' is a file).",
    },
    "multipart_required": {
        "vi": "Nội dung gửi lên phải là multipart/form-data (tệp kèm các trường).",
        "en": "The request body must be multipart/form-data (files and fields).",
    },
    "page.admin_title": {"vi": "Quản trị", "en": "Administration"},
    "page.admin_intro": {
        "vi": "Người dùng, vai trò và điện thoại ở các thành phố bạn quản trị; công bố bản đồ; "
        "ranh giới phường/xã và khu dân cư.",
        "en": "People, roles and phones in the cities you administer; publishing maps; ward and "
        "settlement boundaries.",
    },
    "page.admin_forbidden_title": {"vi": "Không có quyền quản trị", "en": "No admin role"},
    "page.admin_forbidden": {
        "vi": "Chỉ quản trị thành phố và quản trị quốc gia mở được trang này. Hãy nhờ quản trị "
        "thành phố cấp vai trò nếu bạn cần.",
        "en": "Only city admins and national admins can open this page. Ask your city admin for "
        "a role if you need one.",
    },
    "page.admin_people": {"vi": "Người dùng", "en": "People"},
    "page.admin_add_person": {"vi": "Thêm người", "en": "Add a person"},
    "page.admin_display_name": {"vi": "Họ và tên", "en": "Full name"},
    "page.admin_username_hint": {
        "vi": "Chữ thường không dấu, số, dấu chấm hoặc gạch ngang, ví dụ tnv-hoa.",
        "en": "Lowercase letters without accents, digits, dots or dashes, e.g. tnv-hoa.",
    },
    "page.admin_password_optional": {
        "vi": "Mật khẩu (không bắt buộc)",
        "en": "Password (optional)",
    },
    "page.admin_password_hint": {
        "vi": "Tình nguyện viên không cần mật khẩu: điện thoại đăng nhập bằng mã QR.",
        "en": "Volunteers need no password: their phone signs in with a QR code.",
    },
    "page.admin_add": {"vi": "Thêm", "en": "Add"},
    "page.admin_added": {
        "vi": "Đã thêm {name}. Hãy cấp vai trò cho người này.",
        "en": "{name} added. Now give them a role.",
    },
    "page.admin_search": {"vi": "Tìm theo tên", "en": "Search by name"},
    "page.admin_loading": {"vi": "Đang tải…", "en": "Loading…"},
    "page.admin_no_people": {
        "vi": "Chưa có ai trong các thành phố bạn quản trị.",
        "en": "Nobody in the cities you administer yet.",
    },
    "page.admin_you": {"vi": "(bạn)", "en": "(you)"},
    "page.admin_disabled": {"vi": "Đã khoá", "en": "Disabled"},
    "page.admin_phones_count": {"vi": "{n} điện thoại", "en": "{n} phones"},
    "page.admin_roles": {"vi": "Vai trò", "en": "Roles"},
    "page.admin_no_roles": {"vi": "Chưa có vai trò.", "en": "No role yet."},
    "page.admin_remove_role": {"vi": "Bỏ vai trò", "en": "Remove"},
    "page.admin_role_removed": {"vi": "Đã bỏ vai trò {role}.", "en": "Role {role} removed."},
    "page.admin_give_role": {"vi": "Cấp vai trò", "en": "Give a role"},
    "page.admin_role": {"vi": "Vai trò", "en": "Role"},
    "page.admin_city": {"vi": "Thành phố", "en": "City"},
    "page.admin_ward": {"vi": "Phường/xã", "en": "Ward"},
    "page.admin_whole_city": {"vi": "Cả thành phố", "en": "The whole city"},
    "page.admin_role_given": {"vi": "Đã cấp vai trò {role}.", "en": "Role {role} given."},
    "page.admin_ward_required": {
        "vi": "Chọn phường/xã mà trưởng khu phố / phường phụ trách.",
        "en": "Choose the ward this ward leader leads.",
    },
    "page.admin_phones": {"vi": "Điện thoại", "en": "Phones"},
    "page.admin_device_name": {"vi": "Tên điện thoại", "en": "Phone name"},
    "page.admin_device_placeholder": {
        "vi": "ví dụ: điện thoại của Hoa",
        "en": "e.g. Hoa's phone",
    },
    "page.admin_make_qr": {
        "vi": "Tạo mã QR đăng nhập điện thoại",
        "en": "Make a phone sign-in QR code",
    },
    "page.admin_qr_alt": {
        "vi": "Mã QR đăng nhập điện thoại cho {name}",
        "en": "Phone sign-in QR code for {name}",
    },
    "page.admin_qr_hint": {
        "vi": "Quét mã bằng camera của điện thoại, hoặc mở liên kết này trên điện thoại. Chỉ "
        "dùng được một lần, đến {time}. Các mã trước đây của người này chưa dùng thì không "
        "còn dùng được nữa.",
        "en": "Scan the code with the phone's camera, or open this link on the phone. It works "
        "once, until {time}. This person's earlier codes not yet used no longer work.",
    },
    "page.admin_no_phones": {"vi": "Chưa có điện thoại nào.", "en": "No phone yet."},
    "page.admin_phone_added": {"vi": "thêm lúc {time}", "en": "added {time}"},
    "page.admin_phone_used": {"vi": "dùng lần cuối {time}", "en": "last used {time}"},
    "page.admin_phone_never_used": {"vi": "chưa dùng", "en": "not used yet"},
    "page.admin_phone_active": {"vi": "Đang dùng", "en": "Active"},
    "page.admin_phone_revoked": {"vi": "Đã thu hồi", "en": "Revoked"},
    "page.admin_phone_expired": {"vi": "Hết hạn", "en": "Expired"},
    "page.admin_revoke": {"vi": "Thu hồi", "en": "Revoke"},
    "page.admin_revoke_confirm": {
        "vi": "Thu hồi điện thoại “{name}”? Điện thoại sẽ phải đăng nhập lại; phiếu chưa gửi vẫn "
        "còn trên máy.",
        "en": "Revoke the phone “{name}”? It will have to sign in again; surveys not yet sent "
        "stay on it.",
    },
    "page.admin_revoked": {
        "vi": "Đã thu hồi điện thoại “{name}”.",
        "en": "Phone “{name}” revoked.",
    },
    "page.admin_account": {"vi": "Tài khoản", "en": "Account"},
    "page.admin_new_password": {"vi": "Mật khẩu mới", "en": "New password"},
    "page.admin_set_password": {"vi": "Đặt mật khẩu", "en": "Set password"},
    "page.admin_password_set": {
        "vi": "Đã đặt mật khẩu; các lần đăng nhập trước của người này đã bị đăng xuất.",
        "en": "Password set; this person's earlier sign-ins were signed out.",
    },
    "page.admin_disable": {"vi": "Khoá tài khoản", "en": "Disable account"},
    "page.admin_enable": {"vi": "Mở khoá tài khoản", "en": "Enable account"},
    "page.admin_disable_confirm": {
        "vi": "Khoá tài khoản của {name}? Mọi điện thoại và phiên đăng nhập của người này sẽ bị "
        "đăng xuất.",
        "en": "Disable {name}'s account? Every phone and sign-in of theirs is signed out.",
    },
    "page.admin_disabled_done": {
        "vi": "Đã khoá tài khoản của {name}.",
        "en": "{name}'s account is disabled.",
    },
    "page.admin_enabled_done": {
        "vi": "Đã mở khoá tài khoản của {name}.",
        "en": "{name}'s account is enabled again.",
    },
    "page.admin_cities": {"vi": "Thành phố", "en": "Cities"},
    "page.admin_no_cities": {
        "vi": "Chưa có thành phố nào. Thêm thành phố ở phần ranh giới bên dưới.",
        "en": "No city yet. Add one under boundaries below.",
    },
    "page.admin_city_counts": {
        "vi": "{wards} phường/xã · {settlements} khu dân cư",
        "en": "{wards} wards · {settlements} settlements",
    },
    "page.admin_publish": {
        "vi": "Công bố bản đồ và chỉ số cấp khu dân cư",
        "en": "Publish settlement-level maps and indicators",
    },
    "page.admin_publish_hint": {
        "vi": "Ai cũng xem được bản đồ và tỷ lệ của từng khu dân cư; không bao giờ thấy hộ gia "
        "đình nào.",
        "en": "Anyone can see the maps and shares of each settlement; never a single household.",
    },
    "page.admin_published": {"vi": "Đã công bố {city}.", "en": "{city} is published."},
    "page.admin_unpublished": {
        "vi": "Đã thôi công bố {city}.",
        "en": "{city} is no longer published.",
    },
    "page.admin_weights": {
        "vi": "Trọng số của điểm ưu tiên",
        "en": "Weights of the priority score",
    },
    "page.admin_weights_hint": {
        "vi": "Điểm = 100 × Σ (trọng số × tỷ lệ hộ thiếu) / Σ trọng số. Trọng số 0 bỏ chỉ số "
        "khỏi điểm (tỷ lệ vẫn hiện bên cạnh). Mỗi trọng số từ 0 đến 1000, ít nhất một lớn hơn 0.",
        "en": "Score = 100 × Σ (weight × share of households lacking) / Σ weights. A weight of 0 "
        "leaves the indicator out of the score (its share is still shown). Each weight from 0 "
        "to 1000, at least one above 0.",
    },
    "page.admin_weights_own": {
        "vi": "Thành phố đang dùng trọng số riêng.",
        "en": "The city uses its own weights.",
    },
    "page.admin_weights_common": {
        "vi": "Thành phố đang dùng trọng số chung của hệ thống.",
        "en": "The city uses the server's common weights.",
    },
    "page.admin_weights_save": {"vi": "Lưu trọng số", "en": "Save the weights"},
    "page.admin_weights_reset": {"vi": "Dùng trọng số chung", "en": "Use the common weights"},
    "page.admin_weights_saved": {
        "vi": "Đã lưu trọng số của {city}: điểm và bản đồ dùng chúng từ bây giờ.",
        "en": "The weights of {city} are saved: scores and maps use them from now on.",
    },
    "page.admin_weights_reset_done": {
        "vi": "{city} dùng lại trọng số chung.",
        "en": "{city} uses the common weights again.",
    },
    "page.admin_boundaries": {
        "vi": "Ranh giới phường/xã và khu dân cư",
        "en": "Ward and settlement boundaries",
    },
    "page.admin_boundaries_hint": {
        "vi": "GeoJSON, GeoPackage (.gpkg) hoặc Shapefile nén .zip (gồm .shp, .shx, .dbf, .prj). "
        "Phường/xã và khu dân cư được nhận theo mã: nhập lại tệp đã sửa sẽ cập nhật ranh giới "
        "và xếp lại các hộ đã khảo sát.",
        "en": "GeoJSON, GeoPackage (.gpkg) or a zipped Shapefile (.shp, .shx, .dbf, .prj). Wards "
        "and settlements are matched by code: importing a corrected file again updates the "
        "boundaries and places the surveyed households again.",
    },
    "page.admin_new_city": {"vi": "Thành phố mới…", "en": "New city…"},
    "page.admin_city_slug": {
        "vi": "Mã thành phố (dùng trong địa chỉ web)",
        "en": "City code (used in web addresses)",
    },
    "page.admin_city_slug_hint": {
        "vi": "Chữ thường không dấu, số và gạch ngang, ví dụ hoi-an.",
        "en": "Lowercase letters without accents, digits and dashes, e.g. hoi-an.",
    },
    "page.admin_city_name": {"vi": "Tên thành phố", "en": "City name"},
    "page.admin_province": {"vi": "Tỉnh (không bắt buộc)", "en": "Province (optional)"},
    "page.admin_wards_file": {"vi": "Tệp ranh giới phường/xã", "en": "Ward boundaries file"},
    "page.admin_settlements_file": {
        "vi": "Tệp ranh giới khu dân cư (không bắt buộc)",
        "en": "Settlement boundaries file (optional)",
    },
    "page.admin_file_options": {
        "vi": "Tuỳ chọn tệp: hệ tọa độ, lớp, tên cột",
        "en": "File options: coordinate system, layer, column names",
    },
    "page.admin_crs": {
        "vi": "Hệ tọa độ (khi tệp không ghi, ví dụ Shapefile thiếu .prj)",
        "en": "Coordinate system (when the file has none, e.g. a Shapefile without .prj)",
    },
    "page.admin_crs_hint": {
        "vi": "Mã EPSG, ví dụ EPSG:9210 (VN-2000), EPSG:32648 hoặc EPSG:32649 (UTM 48N/49N), "
        "EPSG:4326 (kinh độ, vĩ độ). Tệp đã ghi hệ tọa độ thì vẫn đọc theo hệ của tệp.",
        "en": "An EPSG code, e.g. EPSG:9210 (VN-2000), EPSG:32648 or EPSG:32649 (UTM 48N/49N), "
        "EPSG:4326 (longitude, latitude). A file that names its own is read in its own.",
    },
    "page.admin_wards_options": {"vi": "Tệp phường/xã", "en": "Ward file"},
    "page.admin_settlements_options": {"vi": "Tệp khu dân cư", "en": "Settlement file"},
    "page.admin_layer": {
        "vi": "Lớp (khi GeoPackage có nhiều lớp)",
        "en": "Layer (when a GeoPackage has several)",
    },
    "page.admin_code_field": {"vi": "Cột mã", "en": "Code column"},
    "page.admin_name_field": {"vi": "Cột tên", "en": "Name column"},
    "page.admin_ward_field": {
        "vi": "Cột mã phường/xã của khu dân cư",
        "en": "Column with the settlement's ward code",
    },
    "page.admin_import": {"vi": "Nhập ranh giới", "en": "Import boundaries"},
    "page.admin_uploading": {"vi": "Đang tải lên… {percent}%", "en": "Uploading… {percent}%"},
    "page.admin_importing": {
        "vi": "Đang kiểm tra và lưu ranh giới… (có thể mất một phút)",
        "en": "Checking and storing the boundaries… (this may take a minute)",
    },
    "page.admin_imported": {
        "vi": "Đã nhập {city}: {wards} phường/xã, {settlements} khu dân cư; {households} hộ đã "
        "khảo sát được xếp lại.",
        "en": "{city} imported: {wards} wards, {settlements} settlements; {households} surveyed "
        "households placed again.",
    },
    "page.admin_import_refused": {
        "vi": "Chưa nhập gì: hãy sửa các lỗi sau rồi thử lại.",
        "en": "Nothing was imported: fix these problems and try again.",
    },
    "page.admin_warnings": {"vi": "Lưu ý", "en": "Please check"},
    "page.admin_choose_file": {
        "vi": "Chọn tệp ranh giới phường/xã.",
        "en": "Choose the ward boundaries file.",
    },
    "page.admin_files_too_large": {
        "vi": "Các tệp quá lớn (tối đa {mb} MB).",
        "en": "The files are too large (at most {mb} MB).",
    },
    "page.admin_forms": {"vi": "Biểu mẫu", "en": "Forms"},
    "page.admin_forms_hint": {
        "vi": "Các tệp XLSForm trong thư mục biểu mẫu của máy chủ. Điện thoại của tình nguyện "
        "viên chỉ nhận biểu mẫu đang dùng; một tệp bị từ chối không đến được điện thoại cho "
        "đến khi sửa xong (máy chủ đọc lại tệp đã sửa, không cần khởi động lại).",
        "en": "The XLSForm files in the server's forms folder. Volunteers' phones get only the "
        "forms in use; a refused file reaches no phone until it is fixed (the server reads "
        "the fixed file again, no restart needed).",
    },
    "page.admin_forms_in_use": {"vi": "Đang dùng", "en": "In use"},
    "page.admin_forms_none": {
        "vi": "Chưa có biểu mẫu nào đang dùng.",
        "en": "No form is in use.",
    },
    "page.admin_form_version": {
        "vi": "{form_id} · phiên bản {version}",
        "en": "{form_id} · version {version}",
    },
    "page.admin_forms_refused": {
        "vi": "Tệp không dùng được: hãy sửa ở trang tính, hàng và cột được nêu",
        "en": "Files not used: fix them at the sheet, row and column named",
    },
    "page.admin_forms_all_used": {
        "vi": "Mọi tệp biểu mẫu đều dùng được.",
        "en": "Every form file is in use.",
    },
    "page.admin_network_error": {
        "vi": "Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.",
        "en": "Cannot reach the server. Check the network and try again.",
    },
    "page.admin_error": {
        "vi": "Lỗi {status}. Hãy thử lại sau.",
        "en": "Error {status}. Try again later.",
    },
    "page.admin_signed_out": {
        "vi": "Phiên đăng nhập đã hết. Tải lại trang để đăng nhập lại.",
        "en": "Your session has ended. Reload the page to sign in again.",
    },
    "page.admin_refresh": {"vi": "Tải lại danh sách điện thoại", "en": "Refresh the phones"},
    "page.admin_cancel": {"vi": "Hủy", "en": "Cancel"},
    "page.admin_confirm": {"vi": "Đồng ý", "en": "Confirm"},
    # OGC API Features and vector tiles (app/api/ogc.py, app/api/tiles.py)
    "ogc.title": {"vi": "Bản đồ CDF: OGC API Features", "en": "CDF map: OGC API Features"},
    "ogc.about": {
        "vi": "Các lớp dữ liệu (phường, khu dân cư, hộ gia đình, phiếu khảo sát) cho QGIS và "
        "GDAL; chỉ những gì tài khoản của bạn được xem.",
        "en": "The layers (wards, settlements, households, surveys) for QGIS and GDAL; only "
        "what your account may read.",
    },
    "ogc.wards": {"vi": "Phường/xã", "en": "Wards"},
    "ogc.wards_about": {
        "vi": "Ranh giới phường với chỉ số, điểm ưu tiên và hạng trong thành phố.",
        "en": "Ward boundaries with indicators, priority score and rank in the city.",
    },
    "ogc.settlements": {"vi": "Khu dân cư", "en": "Settlements"},
    "ogc.settlements_about": {
        "vi": "Ranh giới khu dân cư với chỉ số, điểm ưu tiên và hạng trong phường, thành phố.",
        "en": "Settlement boundaries with indicators, priority score and ranks in the ward "
        "and the city.",
    },
    "ogc.households": {"vi": "Hộ gia đình", "en": "Households"},
    "ogc.households_about": {
        "vi": "Phiếu khảo sát hộ gia đình đã duyệt; thông tin cá nhân chỉ dành cho vai trò "
        "được xem.",
        "en": "Approved household surveys; personal fields only for the roles that may see them.",
    },
    "ogc.form_about": {
        "vi": "Phiếu khảo sát đã duyệt của biểu mẫu này; thông tin cá nhân chỉ dành cho vai "
        "trò được xem.",
        "en": "Approved surveys of this form; personal fields only for the roles that may "
        "see them.",
    },
    "collection_not_found": {
        "vi": "Không có lớp dữ liệu '{id}'.",
        "en": "There is no collection '{id}'.",
    },
    "feature_not_found": {
        "vi": "Không có đối tượng '{id}' trong lớp này.",
        "en": "There is no feature '{id}' in this collection.",
    },
    "ogc_bad_integer": {
        "vi": "Tham số '{name}' phải là số nguyên từ {low} trở lên.",
        "en": "The parameter '{name}' must be a whole number of at least {low}.",
    },
    "ogc_bad_bbox": {
        "vi": "bbox phải là 4 số: kinh độ tây, vĩ độ nam, kinh độ đông, vĩ độ bắc (WGS 84), "
        "ví dụ bbox=108.45,15.55,108.50,15.60.",
        "en": "bbox must be 4 numbers: west longitude, south latitude, east longitude, north "
        "latitude (WGS 84), for example bbox=108.45,15.55,108.50,15.60.",
    },
    "ogc_bad_datetime": {
        "vi": "datetime phải là một thời điểm hoặc khoảng RFC 3339, ví dụ 2026-11-26, "
        "2026-11-26T09:30:00Z hoặc 2026-11-01T00:00:00Z/.. (đầu trước cuối).",
        "en": "datetime must be an RFC 3339 instant or interval, for example 2026-11-26, "
        "2026-11-26T09:30:00Z or 2026-11-01T00:00:00Z/.. (start before end).",
    },
    "ogc_no_time": {
        "vi": "Lớp này không có thời gian: bỏ tham số datetime.",
        "en": "This collection has no time: leave out the datetime parameter.",
    },
    "ogc_bad_crs": {
        "vi": "Chỉ hỗ trợ hệ tọa độ {crs}.",
        "en": "Only the coordinate reference system {crs} is supported.",
    },
    "ogc_unknown_parameter": {
        "vi": "Tham số '{name}' không phải là một thuộc tính của lớp này.",
        "en": "The parameter '{name}' is not a property of this collection.",
    },
    "ogc_repeated_parameter": {
        "vi": "Tham số '{name}' chỉ được dùng một lần.",
        "en": "The parameter '{name}' may be given only once.",
    },
    "ogc_bad_value": {
        "vi": "Giá trị của '{name}' không hợp lệ (quá dài hoặc có ký tự không hợp lệ).",
        "en": "The value of '{name}' is not valid (too long or with an invalid character).",
    },
    "ogc_bad_format": {
        "vi": "f phải là json hoặc html.",
        "en": "f must be json or html.",
    },
    # --- fix-server: OGC reserved parameters (one block for easy merges) ---
    "ogc_unsupported_parameter": {
        "vi": "Tham số '{name}' của OGC API chưa được hỗ trợ ở đây (hỗ trợ: limit, offset, "
        "bbox, datetime, f, lang và lọc ?<thuộc tính>=<giá trị>).",
        "en": "The OGC API parameter '{name}' is not supported here (supported: limit, offset, "
        "bbox, datetime, f, lang and ?<property>=<value> filters).",
    },
    "settlement_print.subtitle_no_ward": {
        "vi": "{city} · không thuộc phường/xã nào · bản đồ khu dân cư: {indicator} · số liệu "
        "đến ngày {date}",
        "en": "{city} · in no ward · settlement map: {indicator} · data as of {date}",
    },
    "settlement_print.rank_in_city": {"vi": "Hạng trong thành phố", "en": "Rank in the city"},
    # --- end fix-server ---
    "tile_not_found": {
        "vi": "Không có ô bản đồ {z}/{x}/{y}: z từ 0 đến {max_zoom}, x và y từ 0 đến 2^z - 1.",
        "en": "There is no tile {z}/{x}/{y}: z from 0 to {max_zoom}, x and y from 0 to 2^z - 1.",
    },
    "tile_bad_coordinates": {
        "vi": "Ô bản đồ phải là /tiles/<lớp>/<z>/<x>/<y>.pbf với z, x, y là số nguyên.",
        "en": "A tile is /tiles/<layer>/<z>/<x>/<y>.pbf with whole numbers z, x and y.",
    },
    "tile_layer_not_found": {
        "vi": "Không có lớp ô bản đồ '{layer}' (có: households, settlements, wards).",
        "en": "There is no tile layer '{layer}' (there are: households, settlements, wards).",
    },
    "page.ogc_collections": {"vi": "Các lớp dữ liệu", "en": "Collections"},
    "page.ogc_conformance": {"vi": "Các chuẩn được đáp ứng", "en": "Conformance"},
    "page.ogc_items": {"vi": "Đối tượng", "en": "Features"},
    "page.ogc_shown": {"vi": "Đang xem", "en": "Showing"},
    "page.ogc_of": {"vi": "trên tổng số", "en": "of"},
    "page.ogc_next": {"vi": "Trang sau", "en": "Next page"},
    "page.ogc_prev": {"vi": "Trang trước", "en": "Previous page"},
    "page.ogc_extent": {"vi": "Phạm vi", "en": "Extent"},
    "page.ogc_json": {"vi": "Dạng JSON", "en": "As JSON"},
    "page.ogc_geometry": {"vi": "Hình học", "en": "Geometry"},
    "page.ogc_property": {"vi": "Thuộc tính", "en": "Property"},
    "page.ogc_value": {"vi": "Giá trị", "en": "Value"},
    "page.ogc_queryables": {"vi": "Thuộc tính dùng để lọc", "en": "Queryables"},
    "page.ogc_type": {"vi": "Kiểu", "en": "Type"},
    "page.ogc_qgis_hint": {
        "vi": "Trong QGIS: Lớp > Thêm lớp > Thêm lớp WFS / OGC API - Features, dán địa chỉ "
        "của trang này, chọn xác thực Basic với tên đăng nhập và mật khẩu của bạn.",
        "en": "In QGIS: Layer > Add Layer > Add WFS / OGC API - Features Layer, paste this "
        "page's address, and choose Basic authentication with your username and password.",
    },
}


# What a `wrong_type` problem expected, by the name intake gives it.
TYPE_NAMES: dict[str, dict[str, str]] = {
    "number": {"vi": "một số", "en": "a number"},
    "text": {"vi": "chữ", "en": "text"},
    "object": {"vi": "một đối tượng JSON {…}", "en": "a JSON object {…}"},
    "list": {"vi": "một danh sách […]", "en": "a list […]"},
}

# A request's values that fail its route's rules (app/api/validation.py: pydantic's errors).
MESSAGES.update(
    {
        "at_least": {"vi": "Phải từ {min} trở lên.", "en": "Must be {min} or more."},
        "more_than": {"vi": "Phải lớn hơn {min}.", "en": "Must be more than {min}."},
        "at_most": {"vi": "Không được quá {max}.", "en": "Must be {max} or less."},
        "less_than": {"vi": "Phải nhỏ hơn {max}.", "en": "Must be less than {max}."},
        "text_too_short": {
            "vi": "Quá ngắn (ít nhất {min} ký tự).",
            "en": "Too short (at least {min} characters).",
        },
        "too_many_items": {
            "vi": "Quá nhiều mục (tối đa {max}).",
            "en": "Too many items (at most {max}).",
        },
        "too_few_items": {
            "vi": "Quá ít mục (ít nhất {min}).",
            "en": "Too few items (at least {min}).",
        },
        "not_one_of": {
            "vi": "Không có trong các giá trị được phép. Chọn một trong: {allowed}.",
            "en": "Not one of the allowed values. Choose one of: {allowed}.",
        },
        "not_boolean": {
            "vi": "Phải là true hoặc false.",
            "en": "Must be true or false.",
        },
        "blank": {
            "vi": "Không được để trống hay chỉ có khoảng trắng.",
            "en": "Must not be empty or only spaces.",
        },
        "invalid_slug": {
            "vi": "Chỉ gồm chữ thường không dấu (a-z), chữ số và dấu gạch ngang '-', bắt đầu "
            "bằng chữ hoặc số, tối đa 64 ký tự (ví dụ tam-ky).",
            "en": "Only lowercase letters without accents (a-z), digits and dashes '-', "
            "starting with a letter or digit, at most 64 characters (for example tam-ky).",
        },
        "invalid_xlsform_name": {
            "vi": "Phải là tên trong biểu mẫu: chữ không dấu, chữ số, '_', '.' và '-', bắt đầu "
            "bằng chữ hoặc '_', tối đa 64 ký tự (ví dụ members).",
            "en": "Must be a name from the form: letters without accents, digits, '_', '.' and "
            "'-', starting with a letter or '_', at most 64 characters (for example members).",
        },
        "invalid_format": {
            "vi": "Không đúng dạng được chấp nhận.",
            "en": "Not in the accepted form.",
        },
        "invalid_value": {"vi": "Giá trị không hợp lệ.", "en": "Not a valid value."},
    }
)

# What Starlette and FastAPI refuse by themselves (app/api/errors.py http_error).
MESSAGES.update(
    {
        "http_not_found": {
            "vi": "Không có trang hay địa chỉ API nào ở đường dẫn này.",
            "en": "There is no page or API address at this path.",
        },
        "http_method_not_allowed": {
            "vi": "Đường dẫn này không nhận yêu cầu {method}; hãy dùng {allowed}.",
            "en": "This path does not take {method} requests; use {allowed}.",
        },
        "http_bad_request": {
            "vi": "Không đọc được yêu cầu gửi lên.",
            "en": "The request could not be read.",
        },
        "http_error": {
            "vi": "Máy chủ không xử lý được yêu cầu này (mã {status}).",
            "en": "The server cannot handle this request (status {status}).",
        },
    }
)

# The CDF's books (app/services/cdf_*.py): savings groups, loans, the journal.
MESSAGES.update(
    {
        "cdf_group_not_found": {
            "vi": "Không tìm thấy nhóm tiết kiệm.",
            "en": "Savings group not found.",
        },
        "cdf_settlement_not_found": {
            "vi": "Không tìm thấy khu dân cư {id} trong thành phố này.",
            "en": "Settlement {id} was not found in this city.",
        },
        "cdf_survey_not_found": {
            "vi": "Không tìm thấy phiếu khảo sát hộ này trong thành phố.",
            "en": "This household survey was not found in the city.",
        },
        "cdf_member_code_taken": {
            "vi": "Nhóm đã có thành viên mã '{value}'.",
            "en": "The group already has a member with code '{value}'.",
        },
        "cdf_product_code_taken": {
            "vi": "Quỹ đã có sản phẩm vay mã '{value}'.",
            "en": "The fund already has a loan product with code '{value}'.",
        },
        "cdf_loan_not_found": {"vi": "Không tìm thấy khoản vay.", "en": "Loan not found."},
        "cdf_product_not_found": {
            "vi": "Không tìm thấy sản phẩm vay của quỹ này.",
            "en": "Loan product not found in this fund.",
        },
        "cdf_member_not_found": {
            "vi": "Không tìm thấy thành viên trong nhóm này.",
            "en": "Member not found in this group.",
        },
        "cdf_meeting_not_found": {
            "vi": "Không tìm thấy buổi họp.",
            "en": "Meeting not found.",
        },
        "cdf_entry_not_found": {
            "vi": "Không tìm thấy bút toán.",
            "en": "Journal entry not found.",
        },
        "cdf_above_product_max": {
            "vi": "Số tiền vay vượt mức tối đa của sản phẩm ({max} đồng).",
            "en": "The loan is above the product's maximum ({max} đồng).",
        },
        "cdf_loan_total_too_large": {
            "vi": "Với lãi suất và kỳ hạn của sản phẩm, khoản vay này phải trả tổng cộng "
            "{total} đồng (gốc và lãi), vượt mức tối đa {max} đồng: hãy vay ít hơn hoặc chọn "
            "sản phẩm khác.",
            "en": "At the product's rate and term this loan would owe {total} đồng in all "
            "(principal and interest), more than the most the books take ({max} đồng): "
            "borrow less or choose another product.",
        },
        "cdf_savings_precondition": {
            "vi": "Nhóm chưa đủ tiết kiệm để vay: cần ít nhất {needed} đồng, ngày {date} nhóm "
            "có {saved} đồng.",
            "en": "The group has not saved enough for this loan: it needs at least {needed} "
            "đồng and has {saved} đồng on {date}.",
        },
        "cdf_savings_needed_at_payout": {
            "vi": "Không ghi được: khoản vay số {loan} đã giải ngân ngày {date}, khi nhóm phải "
            "có ít nhất {needed} đồng tiết kiệm; ghi khoản này thì ngày đó nhóm chỉ còn "
            "{saved} đồng. Hãy ghi vào một ngày sau {after}.",
            "en": "Not recorded: loan {loan} was paid out on {date}, when the group had to hold "
            "at least {needed} đồng of savings; this would leave it {saved} đồng on that day. "
            "Date it after {after}.",
        },
        # At a meeting the record's day is the meeting's: no other day to give it.
        "cdf_savings_needed_at_payout_meeting": {
            "vi": "Không ghi được khoản rút {amount} đồng ở cuộc họp ngày {meeting}: khoản vay "
            "số {loan} giải ngân ngày {date} cần nhóm giữ ít nhất {needed} đồng tiết kiệm đến "
            "hết ngày đó, rút khoản này thì nhóm chỉ còn {saved} đồng. {advice}",
            "en": "Not recorded at the meeting of {meeting}: loan {loan}, paid out on {date}, "
            "needs the group to hold at least {needed} đồng of savings to the end of that day; "
            "withdrawing {amount} đồng would leave it {saved} đồng. {advice}",
        },
        "cdf_savings_needed_at_payout_meeting.take_some": {
            "vi": "Ở cuộc họp này thành viên rút được tối đa {most} đồng; phần còn lại rút ở một "
            "cuộc họp sau ngày {after}.",
            "en": "At this meeting the member may withdraw at most {most} đồng; the rest at a "
            "meeting after {after}.",
        },
        "cdf_savings_needed_at_payout_meeting.take_none": {
            "vi": "Ở cuộc họp này không rút được tiết kiệm; hãy rút ở một cuộc họp sau ngày "
            "{after}.",
            "en": "No savings can be withdrawn at this meeting: withdraw them at a meeting after "
            "{after}.",
        },
        "cdf_savings_precondition_at_disbursement": {
            "vi": "Nhóm không còn đủ tiết kiệm để giải ngân khoản vay này: ngày {date} cần ít "
            "nhất {needed} đồng, nhóm có {saved} đồng (tiết kiệm đã được rút sau khi xin vay?).",
            "en": "The group no longer holds the savings this loan needs to be paid out: on "
            "{date} it needs at least {needed} đồng and has {saved} đồng (savings withdrawn "
            "since the application?).",
        },
        "cdf_product_total_too_large": {
            "vi": "Với lãi suất và kỳ hạn của sản phẩm, một khoản vay ở mức tối đa "
            "{principal} đồng phải trả tổng cộng {total} đồng (gốc và lãi), vượt mức tối đa "
            "{max} đồng: hãy giảm mức vay tối đa, lãi suất hoặc kỳ hạn.",
            "en": "At the product's rate and term a loan of its maximum, {principal} đồng, "
            "would owe {total} đồng in all (principal and interest), more than the most the "
            "books take ({max} đồng): lower the maximum, the rate or the term.",
        },
        "cdf_client_id_reused": {
            "vi": "Mã giao dịch {client_id} đã được dùng cho một giao dịch khác.",
            "en": "Record id {client_id} was already used for a different record.",
        },
        "cdf_loan_wrong_status": {
            "vi": "Khoản vay đang ở trạng thái '{status}': không làm được việc này.",
            "en": "The loan is '{status}': this cannot be done now.",
        },
        "cdf_maker_checker": {
            "vi": "Người lập hồ sơ vay không được tự duyệt: cần một cán bộ khác duyệt.",
            "en": "Whoever recorded a loan application may not approve it: another staff "
            "member must.",
        },
        "cdf_date_before_application": {
            "vi": "Ngày giải ngân trước ngày nộp hồ sơ vay.",
            "en": "The disbursement date is before the application date.",
        },
        "cdf_decision_before_application": {
            "vi": "Ngày duyệt trước ngày nộp hồ sơ vay ({date}).",
            "en": "The decision date is before the application date ({date}).",
        },
        "cdf_date_before_approval": {
            "vi": "Ngày giải ngân trước ngày duyệt khoản vay ({date}).",
            "en": "The disbursement date is before the day the loan was approved ({date}).",
        },
        "cdf_date_before_disbursement": {
            "vi": "Ngày trả nợ trước ngày giải ngân.",
            "en": "The repayment date is before the disbursement date.",
        },
        "cdf_repayment_exceeds_owed": {
            "vi": "Số tiền trả lớn hơn số còn nợ ({owed} đồng cả gốc và lãi).",
            "en": "The repayment is more than what is owed ({owed} đồng, principal and interest).",
        },
        "cdf_period_closed": {
            "vi": "Ngày này thuộc kỳ sổ sách đã khóa ({start} đến {end}).",
            "en": "This date lies in a closed period of the books ({start} to {end}).",
        },
        "cdf_period_closed_now": {
            "vi": "Kỳ sổ sách của ngày này vừa bị khóa.",
            "en": "The period of this date has just been closed.",
        },
        "cdf_period_overlaps": {
            "vi": "Kỳ này trùng với kỳ sổ sách đã khóa từ {start} đến {end}.",
            "en": "This period overlaps the closed period from {start} to {end}.",
        },
        "cdf_period_not_past": {
            "vi": "Chỉ khóa được một kỳ đã qua (ngày kết thúc trước hôm nay).",
            "en": "Only a past period can be closed (ending before today).",
        },
        "cdf_unbalanced": {
            "vi": "Bút toán không cân (tổng nợ và có phải bằng nhau).",
            "en": "The entry does not balance (debits must equal credits).",
        },
        "cdf_posted_immutable": {
            "vi": "Bút toán đã ghi sổ không được sửa hay xóa: hãy ghi bút toán đảo.",
            "en": "A posted entry is never changed or deleted: post a reversal.",
        },
        "cdf_invalid_client_id": {
            "vi": "Mã bản ghi (client_id) phải là một UUID do điện thoại tạo (ví dụ 0b6f5c1e-...).",
            "en": "The record's id (client_id) must be a UUID made by the phone (for example "
            "0b6f5c1e-...).",
        },
        "cdf_invalid_meeting_id": {
            "vi": "Mã buổi họp phải là một UUID (ví dụ 0b6f5c1e-...).",
            "en": "The meeting id must be a UUID (for example 0b6f5c1e-...).",
        },
        "cdf_date_in_future": {
            "vi": "Ngày này chưa tới (hôm nay là {today}): chỉ ghi tiền đã thu hoặc đã chi.",
            "en": "This day has not come yet (today is {today}): record only money that moved.",
        },
        "cdf_day_not_come": {
            "vi": "Ngày này chưa tới (hôm nay là {today}): hãy ghi khi việc đã diễn ra.",
            "en": "This day has not come yet (today is {today}): record it once it happened.",
        },
        "cdf_before_group_founded": {
            "vi": "Nhóm thành lập ngày {date}: không ghi được gì cho nhóm trước ngày đó.",
            "en": "The group was founded on {date}: nothing can be recorded for it before.",
        },
        "cdf_before_member_joined": {
            "vi": "Thành viên vào nhóm ngày {date}: không ghi được gì cho thành viên trước "
            "ngày đó.",
            "en": "The member joined on {date}: nothing can be recorded for them before.",
        },
        "cdf_reversal_before_entry": {
            "vi": "Bút toán đảo không thể có ngày trước bút toán gốc ({date}).",
            "en": "A reversal cannot be dated before the entry it reverses ({date}).",
        },
        "cdf_reversal_exceeds_savings": {
            "vi": "Không đảo được: thành viên chỉ còn {saved} đồng tiết kiệm (đã rút bớt); "
            "hãy đảo khoản rút trước.",
            "en": "Cannot reverse: the member has only {saved} đồng of savings left (some was "
            "withdrawn); reverse the withdrawal first.",
        },
        "cdf_from_after_as_of": {
            "vi": "Ngày bắt đầu kỳ báo cáo (from) phải trước hoặc bằng ngày báo cáo ({as_of}).",
            "en": "The start of the report's period (from) must be on or before its day ({as_of}).",
        },
        "cdf_period_ends_before_it_starts": {
            "vi": "Ngày kết thúc phải sau ngày bắt đầu của kỳ.",
            "en": "The period must end after it starts.",
        },
        "cdf_withdrawal_exceeds_savings": {
            "vi": "Số tiền rút lớn hơn tiết kiệm của thành viên ({saved} đồng).",
            "en": "The withdrawal is more than the member's savings ({saved} đồng).",
        },
        "cdf_too_many_records": {
            "vi": "Quá nhiều dòng một lần (tối đa {max}).",
            "en": "Too many records at once (at most {max}).",
        },
        "cdf_meeting_closed": {
            "vi": "Buổi họp đã kết thúc: không ghi thêm được.",
            "en": "The meeting is closed: nothing more can be recorded in it.",
        },
        "cdf_difference_needs_note": {
            "vi": "Tiền đếm được lệch sổ {difference} đồng: hãy ghi chú lý do.",
            "en": "The cash counted differs from the books by {difference} đồng: add a note.",
        },
        "cdf_cannot_reverse": {
            "vi": "Không đảo được bút toán loại '{kind}' (hoặc bút toán đã được đảo).",
            "en": "An entry of kind '{kind}' cannot be reversed (or it was reversed already).",
        },
        "cdf_amount_not_whole": {
            "vi": "Số tiền phải là số đồng nguyên, không có phần thập phân.",
            "en": "The amount must be whole đồng, without decimals.",
        },
        "cdf_amount_negative": {
            "vi": "Số tiền không được âm.",
            "en": "The amount cannot be negative.",
        },
        "cdf_amount_zero": {
            "vi": "Số tiền phải lớn hơn 0.",
            "en": "The amount must be more than 0.",
        },
        "cdf_amount_too_large": {
            "vi": "Số tiền quá lớn (tối đa {max} đồng).",
            "en": "The amount is too large (at most {max} đồng).",
        },
        "cdf_disbursement_exceeds_fund_cash": {
            "vi": "Quỹ CDF không đủ tiền mặt để giải ngân khoản vay này: từ ngày {date} trở đi, "
            "tiền mặt của quỹ có lúc chỉ còn {cash} đồng.",
            "en": "The fund does not have the cash to pay this loan out: from {date} on, the "
            "fund's cash was as low as {cash} đồng.",
        },
        "cdf_reversal_exceeds_fund_cash": {
            "vi": "Không thể hủy bút toán này: từ ngày {date} trở đi, tiền mặt của Quỹ CDF "
            "có lúc chỉ còn {cash} đồng (số tiền đã được cho vay).",
            "en": "This entry cannot be reversed: from {date} on, the fund's cash was as low "
            "as {cash} đồng (the money was lent out).",
        },
        "cdf_number_too_large": {
            "vi": "Số quá lớn: sổ quỹ không có trường nào nhận được số như vậy.",
            "en": "This number is too large for any field of the books.",
        },
        "cdf_out_of_range": {
            "vi": "Phải là số nguyên từ {low} đến {high}.",
            "en": "Must be a whole number from {low} to {high}.",
        },
        "cdf_invalid_date": {
            "vi": "Ngày không hợp lệ (định dạng YYYY-MM-DD, ví dụ 2026-12-03).",
            "en": "Not a valid date (YYYY-MM-DD, for example 2026-12-03).",
        },
        "cdf_report.city": {"vi": "Thành phố", "en": "City"},
        "cdf_shortfall_exceeds_cash": {
            "vi": "Tiền đếm được thiếu nhiều hơn số tiền sổ sách còn giữ: từ ngày {date} trở đi, "
            "quỹ tiền mặt có lúc chỉ còn {cash} đồng. Hãy kiểm lại khoản nộp về quỹ sau "
            "buổi họp này.",
            "en": "The cash counted is short by more than the books still hold: from {date} on, "
            "the box held as little as {cash} đồng. Check the remittances after this meeting.",
        },
        "cdf_withdrawal_exceeds_cash": {
            "vi": "Số tiền rút lớn hơn tiền mặt của nhóm: từ ngày {date} trở đi, "
            "quỹ tiền mặt có lúc chỉ còn {cash} đồng.",
            "en": "The withdrawal is more than the group's cash: from {date} on, the box "
            "held as little as {cash} đồng.",
        },
        "cdf_reversal_exceeds_cash": {
            "vi": "Không thể hủy bút toán này: từ ngày {date} trở đi, quỹ tiền mặt của nhóm "
            "có lúc chỉ còn {cash} đồng.",
            "en": "This entry cannot be reversed: from {date} on, the group's box held as "
            "little as {cash} đồng.",
        },
        "cdf_remittance_exceeds_cash": {
            "vi": "Số tiền nộp về quỹ lớn hơn tiền mặt của nhóm: từ ngày {date} trở đi, "
            "quỹ tiền mặt có lúc chỉ còn {cash} đồng.",
            "en": "The remittance is more than the group's cash: from {date} on, the box "
            "held as little as {cash} đồng.",
        },
    }
)


# Survey lists paged by cursor (app/services/submissions.py) and survey progress
# (app/services/progress.py, the /progress page).
MESSAGES.update(
    {
        "invalid_cursor": {
            "vi": "Con trỏ trang không hợp lệ: dùng đúng giá trị 'next' của trang trước.",
            "en": "Not a valid page cursor: use the 'next' value of the previous page as is.",
        },
        "progress_forbidden": {
            "vi": "Tiến độ khảo sát dành cho quản trị thành phố, người lập kế hoạch và trưởng "
            "khu phố; tình nguyện viên xem phiếu của mình trong ứng dụng.",
            "en": "Survey progress is for city admins, planners and ward leaders; volunteers "
            "see their own surveys in the phone app.",
        },
        "progress_range_reversed": {
            "vi": "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu.",
            "en": "The end date must be on or after the start date.",
        },
        "progress_range_too_long": {
            "vi": "Khoảng thời gian quá dài (tối đa {max} ngày).",
            "en": "The date range is too long (at most {max} days).",
        },
        "page.progress_title": {"vi": "Tiến độ khảo sát", "en": "Survey progress"},
        "page.progress_your_wards": {"vi": "Phường/xã đang xem", "en": "Wards shown"},
        "page.progress_all_wards": {"vi": "Xem mọi phường/xã", "en": "Show every ward"},
        "page.progress_from": {"vi": "Từ ngày", "en": "From"},
        "page.progress_to": {"vi": "Đến ngày", "en": "To"},
        "page.progress_show": {"vi": "Xem", "en": "Show"},
        "page.progress_households": {"vi": "Hộ đã khảo sát", "en": "Households surveyed"},
        "page.progress_estimate": {"vi": "Số hộ ước tính", "en": "Estimated households"},
        "page.progress_share_surveyed": {"vi": "Tỷ lệ đã khảo sát", "en": "Share surveyed"},
        "page.progress_surveys": {"vi": "Phiếu đã nhận", "en": "Surveys received"},
        "page.progress_waiting": {"vi": "Chờ duyệt", "en": "Waiting for review"},
        "page.progress_approved": {"vi": "Đã duyệt", "en": "Approved"},
        "page.progress_needs_correction": {"vi": "Cần sửa", "en": "Needs correction"},
        "page.progress_rejected": {"vi": "Bị từ chối", "en": "Rejected"},
        "page.progress_unknown": {"vi": "chưa rõ", "en": "unknown"},
        "page.progress_partial": {
            "vi": "khu dân cư chưa có ước tính",
            "en": "settlements without an estimate",
        },
        "page.progress_csv_places": {
            "vi": "Tải CSV theo khu dân cư và phường",
            "en": "Download CSV by settlement and ward",
        },
        "page.progress_csv_volunteers": {
            "vi": "Tải CSV theo tình nguyện viên và ngày",
            "en": "Download CSV by volunteer and day",
        },
        "page.progress_by_settlement": {"vi": "Theo khu dân cư", "en": "By settlement"},
        "page.progress_chart_note": {
            "vi": "Thanh đầy: đã khảo sát đủ số hộ ước tính. Thanh gạch chéo: chưa có ước tính, "
            "độ dài theo số hộ đã khảo sát.",
            "en": "A full bar: every estimated household surveyed. A hatched bar: no estimate, "
            "its length follows the households surveyed.",
        },
        "page.progress_by_ward": {"vi": "Theo phường/xã", "en": "By ward"},
        "page.progress_by_day": {
            "vi": "Theo ngày và tình nguyện viên",
            "en": "By day and volunteer",
        },
        "page.progress_own_only": {
            "vi": "Chỉ các phiếu bạn đã gửi.",
            "en": "Only the surveys you sent.",
        },
        "page.progress_no_surveys": {
            "vi": "Không có phiếu nào trong khoảng thời gian này.",
            "en": "No surveys in this period.",
        },
        "page.progress_level": {"vi": "Cấp", "en": "Level"},
        "page.progress_code": {"vi": "Mã", "en": "Code"},
        "page.progress_name": {"vi": "Tên", "en": "Name"},
        "page.progress_ward": {"vi": "Phường/xã", "en": "Ward"},
        "page.progress_settlement": {"vi": "Khu dân cư", "en": "Settlement"},
        "page.progress_day": {"vi": "Ngày", "en": "Day"},
        "page.progress_volunteer": {"vi": "Tình nguyện viên", "en": "Volunteer"},
        "page.progress_username": {"vi": "Tên đăng nhập", "en": "Username"},
        "page.progress_level_total": {"vi": "Tổng", "en": "Total"},
        "page.progress_level_ward": {"vi": "Phường/xã", "en": "Ward"},
        "page.progress_level_settlement": {"vi": "Khu dân cư", "en": "Settlement"},
        "page.progress_level_outside_settlements": {
            "vi": "Ngoài các khu dân cư",
            "en": "Outside every settlement",
        },
        "page.progress_level_outside_wards": {
            "vi": "Ngoài các phường/xã",
            "en": "Outside every ward",
        },
    }
)


# One element of Accept-Language (RFC 9110 12.5.4): a language range (RFC 4647: `*` or
# subtags of 1-8 letters and digits joined by "-"), then parameters, of which only the weight
# `q=` (0 to 1, at most three decimals) counts. An element that breaks this is skipped.
_LANGUAGE_RANGE = re.compile(r"\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
_QVALUE = re.compile(r"[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
# Elements read from one header: enough for any browser's, and a bound on the work a
# hostile header (megabytes of commas) can cause.
MAX_LANGUAGE_RANGES = 64


def _language_ranges(header: str) -> list[tuple[str, float]]:
    """The well-formed (range, weight) pairs of an Accept-Language value, in header order."""
    ranges = []
    for element in header.split(",", MAX_LANGUAGE_RANGES)[:MAX_LANGUAGE_RANGES]:
        name, *parameters = element.split(";")
        name = name.strip()
        if not _LANGUAGE_RANGE.fullmatch(name):
            continue
        weight = 1.0
        for parameter in parameters:
            parameter = parameter.strip()
            if parameter[:2].lower() != "q=":
                continue  # no other parameter is defined; ignored, not fatal
            qvalue = _QVALUE.fullmatch(parameter)
            weight = float(qvalue.group(1)) if qvalue else -1.0
        if weight >= 0:
            ranges.append((name.lower(), weight))
    return ranges


def accepted_language(header: str | None) -> str | None:
    """The language of LANGUAGES an Accept-Language value (or a bare ?lang= value) prefers,
    or None when it accepts none of them.

    Each language takes the weight of the range naming it exactly ("vi"), else the highest
    of the ranges of a subtag of it ("vi-VN"), else that of "*"; q=0 means not acceptable.
    The highest weight wins, ties going to the range written first, then to Vietnamese.
    """
    if not header:
        return None
    ranges = _language_ranges(header)
    best: tuple[float, int, int] | None = None  # (weight, -position, -rank in LANGUAGES)
    chosen = None
    for rank, language in enumerate(LANGUAGES):
        exact = [(w, -i) for i, (name, w) in enumerate(ranges) if name == language]
        longer = [(w, -i) for i, (name, w) in enumerate(ranges) if name.startswith(language + "-")]
        anything = [(w, -i) for i, (name, w) in enumerate(ranges) if name == "*"]
        matches = exact[:1] or longer or anything[:1]
        if not matches:
            continue
        weight, position = max(matches)
        key = (weight, position, -rank)
        if weight > 0 and (best is None or key > best):
            best, chosen = key, language
    return chosen


def pick_language(requested: str | None) -> str:
    """Choose vi or en from a ?lang= value or an Accept-Language header (RFC 9110: weights,
    q=0 refusing a language, ranges such as vi-VN and *); Vietnamese when it names neither."""
    return accepted_language(requested) or DEFAULT_LANGUAGE


def number_text(value: float, language: str, decimals: int = 0) -> str:
    """A number as the language writes it: 1.234,5 in Vietnamese (thousands with a dot,
    decimals with a comma), 1,234.5 in English."""
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "vi" else text


# English months as a chart's axis writes them (24 Nov): Vietnamese writes 24/11.
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: str, language: str) -> str:
    """A day (ISO 2026-11-24) without its year, as the language writes it: 24/11 in
    Vietnamese (day before month), 24 Nov in English."""
    month, date = int(day[5:7]), int(day[8:10])
    return f"{date:02d}/{month:02d}" if language == "vi" else f"{date} {_MONTHS_EN[month - 1]}"


def date_text(day: datetime.date | str, language: str) -> str:
    """A day with its year as the language writes it: 07/12/2026 in Vietnamese (day, month,
    year), 7 Dec 2026 in English; `day` a date or its ISO form (2026-12-07)."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day)
    if language == "vi":
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def size_text(size: int, language: str) -> str:
    """A size in bytes as a person reads it: 50 MB, 1,5 MB (Vietnamese), 512 KB."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = round(size / scale, 1)
            text = number_text(value, language, 0 if value == int(value) else 1)
            return f"{text} {unit}"
    return f"{number_text(size, language)} byte" + ("s" if language == "en" and size != 1 else "")


def _half_up(value: Decimal, decimals: int) -> Decimal:
    """A decimal rounded half up to `decimals` places, as a reader rounds."""
    return value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def _percent(share: float, decimals: int) -> Decimal:
    """100 * share rounded half up in decimal arithmetic, from the share's shortest decimal
    form (the one the API and the CSVs show), never from its binary value."""
    return _half_up(Decimal(repr(float(share))) * 100, decimals)


def whole_score(score: float) -> int:
    """A priority score (0-100, as the API shows it: one decimal) in whole points, rounded
    half up from that decimal form as whole_percent rounds a share beside it: 12.5 is 13
    (format's half-to-even said 12)."""
    return int(_half_up(Decimal(repr(float(score))), 0))


def whole_percent(share: float) -> int:
    """A share (0..1) in whole percent as a reader rounds it, half up from the share's
    shortest decimal form: 1 of 8 households is 13 (Python's half-to-even said 12) and the
    API's 0.145 is 15 (100 * 0.145 is 14.4999... in binary)."""
    return int(_percent(share, 0))


def percent_text(
    share: float | None, decimals: int, language: str | None = None, no_data: str = "—"
) -> str:
    """A share (0..1) as a percent figure with `decimals` places, without the sign, rounded
    half up as whole_percent rounds: 0.0625 is 6,3 in Vietnamese, 6.3 in English (format's
    half-to-even on the binary value said 6.2). With no language, the form of the CSVs (a dot,
    no thousands separator). `no_data` where there is no share."""
    if share is None:
        return no_data
    value = _percent(share, decimals)
    if language is None:
        return f"{value:.{decimals}f}"
    text = f"{value:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if language == "vi" else text


# A survey's status in words: the labels of the progress page.
SURVEY_STATUS_LABELS = {
    "received": "page.progress_waiting",
    "approved": "page.progress_approved",
    "needs_correction": "page.progress_needs_correction",
    "rejected": "page.progress_rejected",
}
# Parameters that hold a code, shown in words: message -> parameter -> value -> label code
# ("trạng thái: Đã duyệt", not "trạng thái: approved").
LABELLED_PARAMS: dict[str, dict[str, dict[str, str]]] = {
    "not_correctable": {"status": SURVEY_STATUS_LABELS},
    "review_status_changed": {"status": SURVEY_STATUS_LABELS, "seen": SURVEY_STATUS_LABELS},
    "review_status_changed_yours": {"status": SURVEY_STATUS_LABELS},
}
LABELLED_PARAMS["cdf_savings_needed_at_payout_meeting"] = {
    "advice": {
        advice: f"cdf_savings_needed_at_payout_meeting.{advice}"
        for advice in ("take_some", "take_none")
    }
}
# An amount in a message is a whole number written "{name} đồng" in its text: an int there is
# shown as the language writes numbers (1.000.000 đồng, 1,000,000 đồng). Messages that show
# another figure name it here. Only the sentence changes: the params stay ints.
MONEY_PLACEHOLDER = re.compile(r"\{(\w+)\} đồng")
NUMBER_PARAMS: dict[str, tuple[str, ...]] = {
    "cdf_out_of_range": ("low", "high"),
    "cdf_too_many_records": ("max",),
}


# Messages whose English differs for one (1 city, 2 cities): message -> the count's param;
# the form for one is the message `<code>_one`.
PLURAL_PARAMS: dict[str, str] = {"page.national_subtitle": "cities"}
# Params that are a size in bytes, said as size_text says it (50 MB, not 52428800 byte).
SIZE_PARAMS: dict[str, tuple[str, ...]] = {"body_too_large": ("max",)}
# A day in a message's text (a date, or a string that is exactly a valid ISO day 2025-03-01)
# is written as the language writes it (01/03/2025, 1 Mar 2025), unless the text quotes it
# ('{value}': what was given, echoed as it was). Only the sentence changes: the params (the
# API's JSON "params") stay ISO.
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLACEHOLDER = re.compile(r"(['\"‘“]?)\{(\w+)\}")


def _as_day(value: Any) -> datetime.date | None:
    """The day `value` is (a date, not a datetime, or its exact ISO form), else None."""
    if type(value) is datetime.date:
        return value
    if type(value) is str and ISO_DAY.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _days_as_written(text: str, params: dict[str, Any], language: str) -> dict[str, Any]:
    """params with each day the text names unquoted written as the language writes it."""
    if not params:  # most texts (labels, headings): nothing to look for
        return params
    found = _PLACEHOLDER.findall(text)
    quoted = {name for quote, name in found if quote}
    days = {}
    for _, name in found:
        day = None if name in quoted else _as_day(params.get(name))
        if day is not None:
            days[name] = date_text(day, language)
    return {**params, **days} if days else params


def translate(code: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message for `code` in `language`, formatted with params."""
    texts = MESSAGES.get(code)
    if texts is None:
        return code
    count = PLURAL_PARAMS.get(code)
    if count is not None and params.get(count) == 1:
        texts = MESSAGES.get(f"{code}_one", texts)
    for name in SIZE_PARAMS.get(code, ()):
        if type(params.get(name)) is int:
            params = {**params, name: size_text(params[name], language)}
    text = texts.get(language) or texts[DEFAULT_LANGUAGE]
    params = _days_as_written(text, params, language)
    expected = params.get("expected")
    if type(expected) is str and expected in TYPE_NAMES:
        params = {**params, "expected": TYPE_NAMES[expected][language]}
    for name, labels in LABELLED_PARAMS.get(code, {}).items():
        value = params.get(name)
        if type(value) is str and value in labels:
            # The label may name the message's other params (a regex construct as written).
            params = {**params, name: translate(labels[value], language, **params)}
    for name in (*MONEY_PLACEHOLDER.findall(text), *NUMBER_PARAMS.get(code, ())):
        value = params.get(name)
        if type(value) is int:
            params = {**params, name: number_text(value, language)}
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


# Context layers: streets and places under the maps (app/services/context.py).
MESSAGES.update(
    {
        "context_bad_bbox": {
            "vi": "bbox phải là bốn số tây,nam,đông,bắc (độ kinh, vĩ), tây < đông, nam < bắc, "
            "mỗi chiều không quá {max} độ.",
            "en": "bbox must be four numbers west,south,east,north (degrees of longitude and "
            "latitude), west < east, south < north, at most {max} degrees each way.",
        },
        "context_city_without_wards": {
            "vi": "Thành phố '{city}' chưa có ranh giới phường: hãy nhập ranh giới trước.",
            "en": "City '{city}' has no ward boundaries yet: import them first.",
        },
        "context_nothing_found": {
            "vi": "'{file}' không có đường, sông, nhà hay địa danh nào trong vùng của thành phố: "
            "các lớp đã nhập trước đó được giữ nguyên.",
            "en": "'{file}' holds no street, waterway, building or landmark in the city's area: "
            "the layers imported before are kept.",
        },
        "context_file_unreadable": {
            "vi": "Không đọc được tệp '{file}' như một bản trích OpenStreetMap "
            "(.osm.pbf, .osm hoặc GeoPackage): {error}",
            "en": "The file '{file}' could not be read as an OpenStreetMap extract "
            "(.osm.pbf, .osm or GeoPackage): {error}",
        },
        "context.streets": {"vi": "Đường phố", "en": "Streets"},
        "context.water": {"vi": "Sông, kênh, hồ", "en": "Rivers, canals, lakes"},
        "context.landmarks": {
            "vi": "Chợ, trường, trạm y tế, chùa…",
            "en": "Markets, schools, clinics, pagodas…",
        },
        "context.buildings": {"vi": "Nhà", "en": "Buildings"},
    }
)


# The national view (app/services/national.py, /maps/national).
MESSAGES.update(
    {
        "page.national_title": {"vi": "Mạng lưới các thành phố CDF", "en": "The CDF network"},
        "page.national_subtitle": {
            "vi": "{cities} thành phố · {households} hộ đã khảo sát · số liệu đến {date}",
            "en": "{cities} cities · {households} households surveyed · data as of {date}",
        },
        "page.national_subtitle_one": {
            "vi": "{cities} thành phố · {households} hộ đã khảo sát · số liệu đến {date}",
            "en": "{cities} city · {households} households surveyed · data as of {date}",
        },
        "page.national_map": {"vi": "Bản đồ các thành phố", "en": "Map of the cities"},
        "page.national_table": {"vi": "Các thành phố", "en": "The cities"},
        "page.national_sort_hint": {
            "vi": "Bấm vào tiêu đề cột để sắp xếp.",
            "en": "Click a column heading to sort.",
        },
        "page.national_none": {
            "vi": "Chưa có thành phố nào bạn được xem. Hãy đăng nhập.",
            "en": "There is no city you may see yet. Please sign in.",
        },
        "page.national_pdf": {"vi": "Bản in A4 (PDF)", "en": "A4 summary (PDF)"},
        "page.national_csv": {"vi": "Bảng số liệu (CSV)", "en": "Figures (CSV)"},
        "page.national_city_map": {"vi": "Bản đồ thành phố", "en": "City map"},
        "page.national_legend": {
            "vi": "Vòng tròn: số hộ đã khảo sát; màu: điểm ưu tiên trung bình các khu.",
            "en": "Circles: households surveyed; colour: average settlement priority.",
        },
        "page.national_no_books": {"vi": "—", "en": "—"},
        "page.national_printed": {"vi": "In lúc {time}", "en": "Printed {time}"},
        # Leaflet's own controls on every map (static/maps/leaflet-texts.js).
        "page.map_zoom_in": {"vi": "Phóng to", "en": "Zoom in"},
        "page.map_zoom_out": {"vi": "Thu nhỏ", "en": "Zoom out"},
        "page.map_layers": {"vi": "Các lớp bản đồ", "en": "Layers"},
        "page.map_leaflet": {
            "vi": "Thư viện JavaScript cho bản đồ tương tác",
            "en": "A JavaScript library for interactive maps",
        },
        # A refusal a browser asked for as a page (app/api/error_pages.py).
        "page.error_title": {
            "vi": "Không thực hiện được yêu cầu ({status})",
            "en": "The request could not be done ({status})",
        },
        "page.error_home": {"vi": "Về trang chủ", "en": "Back to the start page"},
    }
)


# The command line (app/cli.py): what an operator needs to read there, in both languages.
MESSAGES.update(
    {
        "cli.demo_accounts_need_demo_mode": {
            "vi": "Các tài khoản demo ({accounts}; mật khẩu: {password}) chỉ đăng nhập được khi "
            "máy chủ chạy với DEMO=true (`make run` bật sẵn); máy chủ khác trả lời như sai mật "
            "khẩu.",
            "en": "The demo accounts ({accounts}; password: {password}) sign in only while the "
            "server runs with DEMO=true (`make run` sets it); any other server answers as to a "
            "wrong password.",
        },
        "cli.form_loaded": {
            "vi": "{file}: biểu mẫu {form_id} (phiên bản: {versions})",
            "en": "{file}: form {form_id} (versions: {versions})",
        },
        "cli.form_refused": {
            "vi": "{file}: biểu mẫu không được dùng, vì:",
            "en": "{file}: the form is not used, because:",
        },
        "cli.forms_dir_missing": {
            "vi": "FORMS_DIR {path} không phải là một thư mục: hãy đặt nó là thư mục chứa các "
            "tệp biểu mẫu",
            "en": "FORMS_DIR {path} is not a folder: set it to the folder of the form files",
        },
        "cli.household_form_missing": {
            "vi": "HOUSEHOLD_FORM '{form_id}' không có trong FORMS_DIR {path} (các biểu mẫu ở "
            "đó: {forms}): máy chủ không thể nhận khảo sát hộ gia đình",
            "en": "HOUSEHOLD_FORM '{form_id}' is no form in FORMS_DIR {path} (its forms: "
            "{forms}): the server cannot take household surveys",
        },
    }
)


# Why a form file cannot be used (app/forms/problems.py): where it is, then why. The sheet
# names (survey, choices, settings) and column names are the workbook's own, kept as written.
MESSAGES.update(
    {
        "form_at_sheet": {"vi": "trang tính {sheet}", "en": "{sheet} sheet"},
        "form_at_row": {"vi": "hàng {row}", "en": "row {row}"},
        "form_at_rows": {"vi": "các hàng {rows}", "en": "rows {rows}"},
        "form_at_column": {"vi": "cột {column}", "en": "column {column}"},
        "form_in_expression": {
            "vi": " (trong biểu thức '{expression}')",
            "en": " (in '{expression}')",
        },
        # Reading the file.
        "form_unreadable": {
            "vi": "tệp này không đọc được như một XLSForm: {error}",
            "en": "not a readable XLSForm: {error}",
        },
        "form_read_failed": {
            "vi": "không đọc được biểu mẫu: {error}",
            "en": "the form could not be read: {error}",
        },
        "form_nested_too_deeply": {
            "vi": "biểu mẫu lồng nhau quá sâu, không đọc được",
            "en": "the form is nested too deeply to be read",
        },
        "form_pyxform": {
            "vi": "pyxform không đọc được biểu mẫu (chi tiết bằng tiếng Anh): {error}",
            "en": "{error}",
        },
        "form_include": {
            "vi": "'include' (một phần lấy từ tệp khác) không được pyxform hỗ trợ: hãy chép "
            "các hàng của phần đó vào biểu mẫu này",
            "en": "'include' (a section from another file) is not supported by pyxform: copy "
            "the section's rows into this form",
        },
        "form_xform_unreadable": {
            "vi": "không đọc được XForm do pyxform tạo ra ({error}): một cột tự đặt có tiền tố "
            "không gian tên (namespace) cần thiết lập 'namespaces'",
            "en": "the XForm pyxform wrote cannot be read ({error}): a custom column with a "
            "namespace prefix needs the 'namespaces' setting",
        },
        "form_control_character": {
            "vi": "ký tự điều khiển {character} không ghi được vào XForm (ODK Collect sẽ không "
            "đọc được biểu mẫu): hãy xoá ký tự này",
            "en": "the control character {character} cannot be written in an XForm (ODK "
            "Collect could not read the form): remove it",
        },
        "form_character_not_in_xml": {
            "vi": "ký tự {character} không ghi được vào XForm (ODK Collect sẽ không đọc được "
            "biểu mẫu): hãy xoá ký tự này",
            "en": "the character {character} cannot be written in an XForm (ODK Collect could "
            "not read the form): remove it",
        },
        # The settings sheet.
        "form_id_missing": {"vi": "thiếu form_id", "en": "form_id is missing"},
        "form_setting_too_long": {
            "vi": "{setting} dài {length} ký tự; tối đa được {max} ký tự",
            "en": "{setting} is {length} characters long; at most {max} are allowed",
        },
        "form_setting_unfit_id": {
            "vi": "{setting} '{value}' có dấu gạch chéo, dấu gạch chéo ngược hoặc ký tự điều "
            "khiển; hãy dùng chữ cái, chữ số, '_', '-' hoặc '.'",
            "en": "{setting} '{value}' contains a slash, a backslash or a control character; "
            "use letters, digits, '_', '-' or '.'",
        },
        "form_setting_unfit_version": {
            "vi": "{setting} '{value}' có ký tự điều khiển; hãy dùng chữ cái, chữ số, '_', '-' "
            "hoặc '.'",
            "en": "{setting} '{value}' contains a control character; use letters, digits, "
            "'_', '-' or '.'",
        },
        "form_encrypted": {
            "vi": "biểu mẫu mã hoá không được hỗ trợ (máy chủ phải đọc từng câu trả lời để "
            "kiểm tra, còn ODK Collect sẽ chỉ gửi một tệp đã mã hoá): hãy xoá public_key",
            "en": "encrypted forms are not supported (the server must read every answer to "
            "check it, and ODK Collect would send only an encrypted file): remove public_key",
        },
        "form_version_taken": {
            "vi": "form_id '{form_id}' phiên bản '{version}' đã là biểu mẫu của tệp {first}; "
            "tệp này không được dùng (hãy đặt phiên bản khác, hoặc xoá tệp)",
            "en": "form_id '{form_id}' version '{version}' is already the form of {first}; "
            "this file is not used (give it another version, or remove it)",
        },
        "form_current_twice": {
            "vi": "form_id '{form_id}' đã có tệp {current} trong forms/ (phiên bản đang dùng); "
            "phiên bản '{version}' của tệp này chỉ dùng để nhận các phiếu đã làm với nó: "
            "hãy chuyển tệp cũ vào forms/versions/",
            "en": "form_id '{form_id}' already has the file {current} in forms/ (the current "
            "version); this file's version '{version}' is only used to accept surveys made "
            "with it: move the old file into forms/versions/",
        },
        # Question types.
        "form_type_not_supported": {
            "vi": "loại câu hỏi '{type}' không được hỗ trợ",
            "en": "question type '{type}' is not supported",
        },
        "form_type_loop": {
            "vi": "'begin loop' (mỗi lựa chọn một nhóm, các nhóm có cùng tên câu hỏi) không "
            "được hỗ trợ: hãy dùng begin_repeat",
            "en": "'begin loop' (one group per choice, each holding the same names) is not "
            "supported: use begin_repeat",
        },
        "form_type_osm": {
            "vi": "câu hỏi 'osm' (OpenMapKit) không được hỗ trợ",
            "en": "'osm' questions (OpenMapKit) are not supported",
        },
        "form_type_select_one_external": {
            "vi": "'select_one_external' (lựa chọn tìm trong itemsets.csv) không được hỗ trợ: "
            "hãy dùng select_one với choice_filter, hoặc select_one_from_file",
            "en": "'select_one_external' (choices searched in itemsets.csv) is not supported: "
            "use select_one with a choice_filter, or select_one_from_file",
        },
        "form_type_video": {
            "vi": "câu hỏi 'video' không được hỗ trợ: hãy dùng 'file'",
            "en": "'video' questions are not supported: use 'file'",
        },
        "form_type_unknown": {
            "vi": "loại câu hỏi '{type}' không tồn tại trong XLSForm (viết sai chính tả?)",
            "en": "question type '{type}' is not an XLSForm type (a typo?)",
        },
        "form_type_background": {
            "vi": "loại câu hỏi '{type}' không được hỗ trợ: ODK Collect tự ghi nó trong khi "
            "biểu mẫu mở, điện thoại web không làm được",
            "en": "question type '{type}' is not supported: ODK Collect records it by itself "
            "while the form is open, which the web phone cannot do",
        },
        "form_type_external_file": {
            "vi": "loại câu hỏi '{type}' không được hỗ trợ (tệp dành cho pulldata() hoặc "
            "instance(), không được hỗ trợ): hãy dùng select_one_from_file",
            "en": "question type '{type}' is not supported (a file for pulldata() or "
            "instance(), which are not supported): use select_one_from_file",
        },
        "form_name_repeated": {
            "vi": "tên '{name}' được dùng nhiều lần (câu trả lời được lưu theo tên câu hỏi)",
            "en": "the name '{name}' is used more than once (answers are keyed by name)",
        },
        # Choices.
        "form_search_appearance": {
            "vi": "kiểu hiển thị search() ('{appearance}': lựa chọn tìm trong một tệp CSV trên "
            "điện thoại) không được hỗ trợ: hãy dùng select_one_from_file, kèm choice_filter "
            "để thu hẹp danh sách",
            "en": "the search() appearance ('{appearance}': choices looked up in a CSV file on "
            "the phone) is not supported: use select_one_from_file, with a choice_filter to "
            "narrow the list",
        },
        "form_choices_unreadable": {
            "vi": "máy chủ không đọc được danh sách lựa chọn của '{name}'",
            "en": "the choices of '{name}' are not a list the server can read",
        },
        "form_choice_name_unsafe": {
            "vi": "danh sách '{list_name}': tên '{name}' không được để trống hay chứa dấu cách, "
            "dấu ngoặc kép, dấu gạch chéo ngược hoặc ký tự điều khiển (các lựa chọn đã chọn "
            "được lưu cách nhau bằng dấu cách)",
            "en": "list '{list_name}': the name '{name}' must not be empty or hold spaces, "
            "quotes, backslashes or control characters (several chosen names are stored "
            "separated by spaces)",
        },
        "form_choice_list_empty": {
            "vi": "danh sách lựa chọn '{list_name}' không có lựa chọn nào",
            "en": "choice list '{list_name}' is empty",
        },
        "form_choices_file_type": {
            "vi": "không hỗ trợ lựa chọn lấy từ '{file}' (chỉ hỗ trợ tệp CSV hoặc XML đặt cạnh "
            "biểu mẫu)",
            "en": "choices from '{file}' are not supported (a CSV or XML file beside the form is)",
        },
        "form_choices_file_missing": {
            "vi": "không có tệp {file} đặt cạnh biểu mẫu",
            "en": "there is no file {file} beside the form",
        },
        "form_choices_file_unreadable": {
            "vi": "không đọc được {file}: {error}",
            "en": "cannot read {file}: {error}",
        },
        "form_choices_xml_no_name": {
            "vi": "{file} cần có các mục (item) có 'name'",
            "en": "{file} needs items with a 'name'",
        },
        "form_choices_csv_columns": {
            "vi": "{file} cần có cột 'name' và cột 'label'",
            "en": "{file} needs 'name' and 'label' columns",
        },
        # Expressions (app/forms/compiled.py, xpath.py, xpath_functions.py).
        "form_expression_too_deep": {
            "vi": "biểu thức lồng nhau quá sâu",
            "en": "the expression is nested too deeply",
        },
        "form_expression_unreadable": {
            "vi": "không đọc được biểu thức từ chỗ: '{rest}'",
            "en": "cannot read the expression at: '{rest}'",
        },
        "form_expression_variable": {
            "vi": "biến ($name) không được hỗ trợ",
            "en": "variables ($name) are not supported",
        },
        "form_expression_ends_early": {
            "vi": "biểu thức kết thúc quá sớm",
            "en": "the expression ends too early",
        },
        "form_expression_expected": {
            "vi": "cần '{wanted}' nhưng gặp '{found}'",
            "en": "expected '{wanted}', found '{found}'",
        },
        "form_expression_empty": {"vi": "biểu thức trống", "en": "the expression is empty"},
        "form_expression_unexpected": {
            "vi": "'{token}' không được đặt ở chỗ này",
            "en": "unexpected '{token}'",
        },
        "form_expression_descendant": {
            "vi": "'//' (đường dẫn tới mọi nút con cháu) không được hỗ trợ",
            "en": "'//' (descendant paths) is not supported",
        },
        "form_expression_attribute": {
            "vi": "thuộc tính (@name) không được hỗ trợ",
            "en": "attributes (@name) are not supported",
        },
        "form_expression_axis": {
            "vi": "trục '{axis}::' không được hỗ trợ",
            "en": "the axis '{axis}::' is not supported",
        },
        "form_expression_node_test": {
            "vi": "phép thử nút '{test}()' không được hỗ trợ",
            "en": "the node test '{test}()' is not supported",
        },
        "form_expression_namespace": {
            "vi": "tên có tiền tố không gian tên (namespace) '{name}' không được hỗ trợ",
            "en": "the namespaced name '{name}' is not supported",
        },
        "form_expression_predicate": {
            "vi": "điều kiện lọc [..] cần một tập nút đứng trước",
            "en": "a predicate [..] needs a node-set before it",
        },
        "form_expression_union": {
            "vi": "'|' chỉ nối được các tập nút",
            "en": "'|' joins node-sets only",
        },
        "form_expression_path_base": {
            "vi": "đường dẫn '/' cần một tập nút đứng trước",
            "en": "a path '/' needs a node-set before it",
        },
        "form_function_not_supported": {
            "vi": "hàm {function}() không được hỗ trợ (docs/forms-engine.md liệt kê các hàm "
            "được hỗ trợ)",
            "en": "the function {function}() is not supported (docs/forms-engine.md lists "
            "those that are)",
        },
        "form_function_arguments": {
            "vi": "{function}() nhận {count} đối số, không phải {given}",
            "en": "{function}() takes {count} arguments, not {given}",
        },
        "form_function_arguments_range": {
            "vi": "{function}() nhận từ {fewest} đến {most} đối số, không phải {given}",
            "en": "{function}() takes {fewest} to {most} arguments, not {given}",
        },
        "form_function_arguments_at_least": {
            "vi": "{function}() nhận ít nhất {fewest} đối số, không phải {given}",
            "en": "{function}() takes at least {fewest} arguments, not {given}",
        },
        "form_function_node_set": {
            "vi": "{function}() cần một tập nút (một đường dẫn) làm đối số",
            "en": "{function}() needs a node-set (a path) as its argument",
        },
        "form_date_format_ends": {
            "vi": "mẫu định dạng của format-date() kết thúc bằng %",
            "en": "the format-date() pattern ends with %",
        },
        "form_date_format_code": {
            "vi": "format-date() không có mã %{letter} (điện thoại hiểu các mã {known})",
            "en": "format-date() has no code %{letter} (the phone knows {known})",
        },
        "form_instance_argument": {
            "vi": "instance() cần tên một danh sách viết trong dấu nháy ('...')",
            "en": "instance() takes the name of a list as a 'string'",
        },
        "form_instance_unknown": {
            "vi": "instance('{name}') không phải danh sách nào của biểu mẫu này (các danh sách "
            "của biểu mẫu: {lists})",
            "en": "instance('{name}') is no list of this form (its lists: {lists})",
        },
        "form_instance_unknown_no_lists": {
            "vi": "instance('{name}') không phải danh sách nào của biểu mẫu này (biểu mẫu "
            "không có danh sách nào)",
            "en": "instance('{name}') is no list of this form (its lists: none)",
        },
        "form_choice_name_path": {
            "vi": "jr:choice-name() cần đường dẫn của câu hỏi viết trong dấu nháy ('...')",
            "en": "jr:choice-name() needs the question's path as a 'string'",
        },
        "form_choice_name_not_select": {
            "vi": "jr:choice-name(): '{path}' không phải câu hỏi chọn lựa chọn",
            "en": "jr:choice-name(): '{path}' is not a select question",
        },
        "form_digest_outside_calculate": {
            "vi": "digest() chỉ máy chủ tính được (điện thoại thì không): chỉ được dùng trong "
            "một calculate, nơi máy chủ điền giá trị, không dùng ở đây",
            "en": "digest() is computed by the server only (the phone cannot): it may be used "
            "in a calculate, whose value the server fills, not here",
        },
        "form_digest_reader": {
            "vi": "biểu thức đọc {names}, được tính bằng digest(), mà điện thoại không tính "
            "được (điện thoại thấy trống trong khi máy chủ thấy mã băm)",
            "en": "it reads {names}, computed with digest(), which the phone cannot compute "
            "(it would see it empty where the server sees the digest)",
        },
        "form_calculation_cycle": {
            "vi": "các phép tính đọc lẫn nhau thành một vòng tròn ({names})",
            "en": "the calculations read each other in a circle ({names})",
        },
        # regex() patterns (app/forms/regex_check.py).
        "form_regex_literal": {
            "vi": "regex() cần mẫu viết sẵn trong biểu mẫu, trong dấu nháy ('...')",
            "en": "regex() needs its pattern as a 'string' written in the form",
        },
        "form_regex_refused": {
            "vi": "mẫu regex '{pattern}': {construct} được điện thoại (JavaScript), ODK Collect "
            "(Java) và máy chủ hiểu khác nhau, hoặc không hiểu được",
            "en": "regex pattern '{pattern}': {construct} is read differently by the phone "
            "(JavaScript), ODK Collect (Java) and the server, or not at all",
        },
        "form_regex_unreadable": {
            "vi": "không đọc được mẫu regex '{pattern}': {error}",
            "en": "regex pattern '{pattern}' cannot be read: {error}",
        },
        "form_regex_unreadable_at": {
            "vi": "không đọc được mẫu regex '{pattern}': {error} tại vị trí {position}",
            "en": "regex pattern '{pattern}' cannot be read: {error} at position {position}",
        },
        "form_regex_too_large": {
            "vi": "mẫu regex '{pattern}' lặp quá nhiều: các số lần lặp ('{{n}}', '{{n,m}}') "
            "nhân qua các nhóm lồng nhau rồi cộng lại vượt quá {limit} (máy chủ không dựng "
            "được mẫu lớn như vậy)",
            "en": "regex pattern '{pattern}' repeats too much: its counts ('{{n}}', '{{n,m}}'), "
            "multiplied through nested groups and added up, come to more than {limit} (the "
            "server cannot build so large a pattern)",
        },
        # The `construct` of form_regex_refused.
        "form_regex.trailing_backslash": {"vi": "dấu '\\' ở cuối", "en": "a trailing '\\'"},
        "form_regex.class_name": {
            "vi": "lớp '{written}' (chỉ dùng được các nhóm ký tự Unicode chung như \\p{{Lu}} "
            "hay \\p{{L}})",
            "en": "the class '{written}' (only Unicode general categories such as \\p{{Lu}} "
            "or \\p{{L}})",
        },
        "form_regex.unicode_escape": {
            "vi": "'\\u' không có đủ 4 chữ số thập lục phân",
            "en": "'\\u' without 4 hexadecimal digits",
        },
        "form_regex.hex_escape": {
            "vi": "'\\x' không có đủ 2 chữ số thập lục phân",
            "en": "'\\x' without 2 hexadecimal digits",
        },
        "form_regex.back_reference": {
            "vi": "tham chiếu ngược quá \\9",
            "en": "a back-reference past \\9",
        },
        "form_regex.escape": {"vi": "ký tự thoát '{written}'", "en": "the escape '{written}'"},
        "form_regex.empty_class": {"vi": "lớp rỗng '[]'", "en": "an empty class '[]'"},
        "form_regex.unclosed_class": {
            "vi": "lớp '[' không được đóng",
            "en": "a '[' class that is not closed",
        },
        "form_regex.nested_class": {
            "vi": "'[' bên trong một lớp [...] (lớp lồng nhau trong Java)",
            "en": "'[' inside a [...] class (a nested class in Java)",
        },
        "form_regex.intersection": {
            "vi": "'&&' bên trong một lớp [...] (phép giao trong Java)",
            "en": "'&&' inside a [...] class (an intersection in Java)",
        },
        "form_regex.range_to_class": {
            "vi": "một khoảng kết thúc bằng một lớp thoát ('a-\\w')",
            "en": "a range ending on a class escape ('a-\\w')",
        },
        "form_regex.atomic_group": {
            "vi": "nhóm nguyên tử '(?>'",
            "en": "an atomic group '(?>'",
        },
        "form_regex.lookbehind": {
            "vi": "phép nhìn ngược '(?<=' hoặc '(?<!'",
            "en": "a lookbehind '(?<=' or '(?<!'",
        },
        "form_regex.inline_flag": {
            "vi": "cờ hoặc nhóm nội tuyến '{written}'",
            "en": "the inline flag or group '{written}'",
        },
        "form_regex.lone_brace": {
            "vi": "dấu '{{' không phải lượng từ {{n,m}}",
            "en": "a '{{' that is not a quantifier {{n,m}}",
        },
        "form_regex.possessive": {
            "vi": "lượng từ chiếm hữu ('*+', '++', '?+', '{{n}}+')",
            "en": "a possessive quantifier ('*+', '++', '?+', '{{n}}+')",
        },
        "form_regex.quantifier_plus": {
            "vi": "lượng từ theo sau bởi '+'",
            "en": "a quantifier followed by '+'",
        },
        "form_regex.lone": {"vi": "dấu '{written}' đứng một mình", "en": "a lone '{written}'"},
    }
)
REGEX_CONSTRUCTS = [
    code.removeprefix("form_regex.") for code in MESSAGES if code.startswith("form_regex.")
]
LABELLED_PARAMS["form_regex_refused"] = {
    "construct": {construct: f"form_regex.{construct}" for construct in REGEX_CONSTRUCTS}
}
